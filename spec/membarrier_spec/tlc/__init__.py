"""Running TLC (``tla2tools.jar``) and reading what it says.

Finding the tools
-----------------
* the jar: ``--jar``, then ``$TLA2TOOLS_JAR``, then ``~/.cache/membarrier-spec/tla2tools.jar``
  (``$XDG_CACHE_HOME`` replaces ``~/.cache`` when set).  A file that is not a zip, or a zip without
  ``tlc2/TLC.class``, is refused with a one-line error.
* Java: ``--java``, then ``$JAVA_HOME/bin/java``, then ``java`` on ``PATH``; version 11 or newer.
* :func:`install_tlc` (``membarrier-spec install-tlc``) downloads :data:`PINNED_URL` into the cache and
  refuses the file unless its SHA-256 is :data:`PINNED_SHA256`.

Running
-------
Every TLC run happens in a fresh temporary directory holding a copy of the spec, the modules it
``EXTENDS``/``INSTANCE``\\ s from its own directory, the cfg (rewritten when only some invariants or
properties are to be checked), TLC's ``-metadir`` and Java's ``java.io.tmpdir`` (TLC unpacks its standard
modules there).  The directory is removed on every way out: success, violation, error, timeout,
``KeyboardInterrupt``.  TLC runs in its own session (process group), so a Ctrl-C on the terminal reaches
only Python, which then kills the whole group (SIGTERM, then SIGKILL after a grace period).

TLC options used: ``-tool`` (machine-readable messages), ``-workers N|auto``, ``-config``, ``-metadir``,
``-noGenerateSpecTE`` (no trace-exploration spec), ``-deadlock`` when deadlock checking is off,
``-lncheck final`` when there are temporal properties (one liveness check of the whole graph instead of
one each time the graph has doubled; not passed to a TLCServer); Java
options ``-Xmx<heap>``, ``-XX:+UseParallelGC`` (TLC's recommendation), ``-Dtlc2.TLC.progressInterval=S``
(seconds between progress reports; TLC's default is 60), an English locale (TLC formats numbers with the
locale's separators) and ``-Djava.io.tmpdir``.

Machine-readable output
-----------------------
With ``-tool`` TLC frames each message as ``@!@!@STARTMSG code:severity @!@!@`` ... ``@!@!@ENDMSG code
@!@!@``; messages nest (an error can wrap another, even in mid-line), and SANY's parse and semantic errors
are *unframed* text between codes 2220 and 2219.  Counterexamples are read from the framed trace
messages (2217 per state: ``N: <Action(args) line .. of module M>`` then ``/\\ var = value`` lines; 2218
``Stuttering``; 2122 ``Back to state``), and every value is parsed by :func:`parse_tla_value`.

TLC's ``-dumpTrace json FILE`` / ``-dumpTrace tla FILE`` are deliberately *not* used: in TLC 2.20 both
formats make SANY load ``_TLAPlusCounterExample``, which ``EXTENDS IOUtils`` from the CommunityModules
jar; with tla2tools.jar alone the run aborts before checking anything ("Cannot find source file for
module IOUtils imported in module _TLAPlusCounterExample", exit 150).  The ``-tool`` messages need
nothing beyond tla2tools.jar, exist in every TLC version, and also carry each step's action name and
arguments, which the JSON dump does not.

Message codes, verified by running TLC 2.20 (rev 96056d9) on the fixtures in tests/fixtures/tla
----------------------------------------------------------------------------------------------
==========  =========================================================================================
2262        version banner                    2187   mode line ("... with N workers ...")
2220/2219   SANY starts / finishes            3002   "Parsing or semantic analysis failed." (exit 150)
2185        Starting...                       2186   Finished in ...
2189/2190   computing initial states / "N distinct state(s) generated"
2200        progress: "Progress(D) at T: G states generated (R s/min), N distinct states found
            (R ds/min), Q states left on queue." (the first report has no rates)
2199        final "G states generated, N distinct states found, Q states left on queue."
2194        "The depth of the complete state graph search is D."
2193        "Model checking completed. No error has been found."
2192/2267   temporal checking starts ("for the complete state space" / "current") / ends
2110        "Invariant NAME is violated."      2107  same, by an initial state (state inline, exit 12)
2112        "Action property NAME is violated."
2116        "Temporal properties were violated." (no name; exit 13)    2114  "Deadlock reached." (exit 11)
2121/2264   a trace follows ("The behavior up to this point is:" / "...constitutes a counter-example:")
2217        one trace state; 2218 "N: Stuttering"; 2122 "N: Back to state: <Action ...>"
2102/2103   evaluation error in a state / its nested expression positions (exit 75)
2222, 2229  config: constant not assigned / invariant or property not defined (exit 151)
1000        general error; wraps 5006 (cfg syntax, exit 255) or carries "Java heap space" / "GC overhead
            limit exceeded" when the heap is exhausted (then exit 75, with 2147 "unable to fingerprint")
1001-1003   TLC's own out-of-memory reports
7000/7001   TLCServer ready / worker registered (distributed mode)
==========  =========================================================================================
TLC exit statuses (``tlc2.output.EC$ExitStatus``): 0 success, 10 assumption, 11 deadlock, 12 safety,
13 liveness, 14 assert, 75/76/77 evaluation failures, 150 parse, 151 config, 152 state space too
large, 153 system error, 255 other errors.

Distributed mode (``run_tlc(..., distributed=N)``, ``membarrier-spec check --distributed N``)
-------------------------------------------------------------------------------------------
Starts ``tlc2.tool.distributed.TLCServer`` on this machine and, once it reports ready (7000), N
``TLCWorker`` processes connecting to it over 127.0.0.1; everything is killed when the run ends.  The
server's RMI registry listens on a free TCP port chosen per run (``-Dtlc2.tool.distributed.TLCServer.port``;
Java RMI offers no bind address, so the port is open on every interface while the run lasts) and the
server advertises itself as 127.0.0.1 (``-Djava.rmi.server.hostname``).  To add workers on other hosts,
run the server with ``java.rmi.server.hostname`` set to an address they can reach, then on each host::

    java -Dtlc2.tool.distributed.TLCServer.port=PORT -Djava.rmi.server.hostname=<this worker's address> \\
         -cp tla2tools.jar tlc2.tool.distributed.TLCWorker <server-host>

(each TLCWorker runs one thread per core of its host, or ``--workers`` threads).  Distributed TLC
checks invariants and action properties but not liveness: temporal properties are reported
``not-checked`` unless TLC says it checked them.  It also does not name the violated invariant (it
prints only the trace); :func:`check_spec` finds it by bisection over the invariants of that run.
"""


from __future__ import annotations

from .check import check_spec
from .common import JAR_ENV, PINNED_SHA256, PINNED_URL, PINNED_VERSION, SHA256_ENV, URL_ENV, TlcSetupError
from .install import cached_jar, check_jar, find_jar, find_java, install_tlc, sha256_of
from .logs import TEMPORAL, log_counterexamples, log_module
from .messages import parse_tool_output
from .results import TlcProgress, TlcResult, parse_progress
from .run import parse_action_label, reclaim_temporary_dirs, run_tlc
from .specfiles import assumed_names, cfg_names, module_dependencies, operator_parameters, rewrite_cfg
from .values import FrozenDict, TlaValueError, format_tla_value, jsonable, parse_tla_state, parse_tla_value

__all__ = [
    "FrozenDict", "JAR_ENV", "PINNED_SHA256", "PINNED_URL", "PINNED_VERSION",
    "SHA256_ENV", "TEMPORAL", "TlaValueError", "TlcProgress", "TlcResult", "TlcSetupError", "URL_ENV",
    "assumed_names", "cached_jar", "cfg_names", "check_jar", "check_spec", "find_jar",
    "find_java", "format_tla_value", "install_tlc", "jsonable", "log_counterexamples", "log_module",
    "module_dependencies", "operator_parameters", "parse_action_label", "parse_progress",
    "parse_tla_state", "parse_tla_value", "parse_tool_output", "reclaim_temporary_dirs", "rewrite_cfg",
    "run_tlc", "sha256_of",
]
