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

import atexit
import hashlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable, Iterable

import attrs

from .errors import MembarrierSpecError
from .properties import Verdict

HOLDS, VIOLATED, NOT_CHECKED = Verdict.HOLDS, Verdict.VIOLATED, Verdict.NOT_CHECKED

# ---------------------------------------------------------------------------------------------------------
# The pinned release.
#
# v1.7.4 is the latest *stable* release (TLC 2.19 of 08 August 2024, rev 5a47802).  v1.8.0 is a rolling
# pre-release whose asset is replaced in place, so it cannot be pinned by hash.  GitHub publishes no digest
# for tla2tools.jar.  The SHA-256 below was NOT computed here (this machine cannot reach github.com): it is
# the value recorded, identically, by several unrelated public projects that pin the same URL (found through
# a code search).  Whoever first runs `membarrier-spec install-tlc` with network access must confirm it:
# a mismatch is refused, never silently accepted.
# ---------------------------------------------------------------------------------------------------------
PINNED_VERSION = "1.7.4"
PINNED_URL = f"https://github.com/tlaplus/tlaplus/releases/download/v{PINNED_VERSION}/tla2tools.jar"
PINNED_SHA256 = "936a262061c914694dfd669a543be24573c45d5aa0ff20a8b96b23d01e050e88"
URL_ENV, SHA256_ENV, JAR_ENV = "MEMBARRIER_SPEC_TLC_URL", "MEMBARRIER_SPEC_TLC_SHA256", "TLA2TOOLS_JAR"

MIN_JAVA = 11
DEFAULT_PROGRESS_INTERVAL = 2  # seconds between TLC progress reports (-Dtlc2.TLC.progressInterval)

# Message codes (see the module docstring).
MSG_VERSION, MSG_MODE, MSG_INIT_START, MSG_INIT_DONE = 2262, 2187, 2189, 2190
MSG_PROGRESS, MSG_STATS, MSG_DEPTH, MSG_SUCCESS = 2200, 2199, 2194, 2193
MSG_TEMPORAL_START = 2192
MSG_INVARIANT, MSG_INVARIANT_INIT, MSG_ACTION_PROPERTY, MSG_PROPERTY_INIT = 2110, 2107, 2112, 2108
MSG_TEMPORAL, MSG_DEADLOCK = 2116, 2114
MSG_BEHAVIOR, MSG_COUNTEREXAMPLE, MSG_STATE, MSG_STATE1, MSG_STUTTER, MSG_BACK_TO = 2121, 2264, 2217, 2216, 2218, 2122
MSG_PARSE_FAILED, MSG_PARSE_FAILED2 = 3002, 2171
MSG_OOM, MSG_OOM_INIT, MSG_OOM_LIVENESS = 1001, 1002, 1003
MSG_ASSUMPTION_FALSE = 2104
MSG_SERVER_READY = 7000
CONFIG_ERROR_CODES = set(range(2222, 2244)) | {2257, 2280, 2281} | set(range(5001, 5007))
EXIT_PARSE, EXIT_CONFIG = 150, 151

_OOM_TEXT = re.compile(r"OutOfMemoryError|Java heap space|GC overhead limit exceeded|ran out of memory|"
                       r"Direct buffer memory|Metaspace")


# =========================================================================================================
# Errors
# =========================================================================================================

class TlcSetupError(MembarrierSpecError):
    """No Java, no jar, a wrong jar, a failed download or a hash mismatch: fix the set-up (CLI exit 2)."""


class TlcSpecError(MembarrierSpecError):
    """TLC rejected the input: a parse, semantic or configuration error; the message quotes TLC (exit 2)."""


# =========================================================================================================
# TLA+ values as TLC prints them
# =========================================================================================================

class FrozenDict(dict):
    """A dict that can be hashed: how a record or function is represented inside a set or as a key."""

    __slots__ = ()

    def __hash__(self):  # type: ignore[override]
        return hash(frozenset(self.items()))


def _freeze(v):
    if isinstance(v, dict) and not isinstance(v, FrozenDict):
        return FrozenDict({k: _freeze(x) for k, x in v.items()})
    if isinstance(v, tuple):
        return tuple(_freeze(x) for x in v)
    return v


_VALUE_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+)
  | (?P<op><<|>>|\|->|:>|@@|\.\.|/\\|[\[\]{}(),=])
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
""", re.X | re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", '"': '"', "\\": "\\"}


class TlaValueError(ValueError):
    """Text that is not a TLA+ value as TLC prints it."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _VALUE_TOKEN.match(text, pos)
        if m is None:
            raise TlaValueError(f"unexpected {text[pos:pos + 20]!r} at offset {pos} in {text[:80]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group()))
    return out


class _ValueParser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            want = f"{value!r}" if value else "a value"
            got = repr(tok[1]) if tok else "the end"
            raise TlaValueError(f"expected {want}, got {got} in {self.text[:120]!r}")
        self.i += 1
        return tok

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] == value and tok[0] == "op"

    def value(self):
        v = self.atom()
        if self.at(".."):
            self.take("..")
            hi = self.atom()
            if not isinstance(v, int) or not isinstance(hi, int) or isinstance(v, bool) or isinstance(hi, bool):
                raise TlaValueError(f"interval bounds must be integers in {self.text[:120]!r}")
            return frozenset(range(v, hi + 1))
        return v

    def _list(self, close: str) -> list:
        items = []
        if self.at(close):
            self.take(close)
            return items
        while True:
            items.append(self.value())
            if self.at(","):
                self.take(",")
                continue
            self.take(close)
            return items

    def atom(self):
        kind, tok = self.take()
        if kind == "num":
            return int(tok)
        if kind == "str":
            return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), tok[1:-1], flags=re.S)
        if kind == "id":
            if tok == "TRUE":
                return True
            if tok == "FALSE":
                return False
            return tok  # a model value
        if tok == "<<":
            return tuple(self._list(">>"))
        if tok == "{":
            return frozenset(_freeze(x) for x in self._list("}"))
        if tok == "[":
            rec = {}
            if self.at("]"):
                self.take("]")
                return rec
            while True:
                k, name = self.take()
                if k not in ("id", "str"):
                    raise TlaValueError(f"expected a record field name, got {name!r} in {self.text[:120]!r}")
                if k == "str":
                    name = name[1:-1]
                self.take("|->")
                rec[name] = self.value()
                if self.at(","):
                    self.take(",")
                    continue
                self.take("]")
                return rec
        if tok == "(":
            first = self.value()
            if not self.at(":>"):
                self.take(")")
                return first
            fn = {}
            key = first
            while True:
                self.take(":>")
                fn[_freeze(key)] = self.value()
                if self.at("@@"):
                    self.take("@@")
                    key = self.value()
                    continue
                self.take(")")
                return fn
        raise TlaValueError(f"unexpected {tok!r} in {self.text[:120]!r}")

    def done(self) -> bool:
        return self.i >= len(self.toks)


def parse_tla_value(text: str):
    """A TLA+ value as TLC prints it -> Python.

    integers -> int, strings -> str, TRUE/FALSE -> bool, ``<<a, b>>`` -> tuple, ``[a |-> 1]`` -> dict
    (str keys), ``{..}`` and ``m..n`` -> frozenset, ``(k1 :> v1 @@ k2 :> v2)`` -> dict, model values -> str.
    Inside a set or as a function key a record/function is a :class:`FrozenDict` (a hashable dict) and a
    tuple holding one is frozen the same way.  Raises :class:`TlaValueError` on anything else.
    """
    p = _ValueParser(text)
    v = p.value()
    if not p.done():
        raise TlaValueError(f"trailing text after a value: {text[:120]!r}")
    return v


def format_tla_value(v) -> str:
    """Python -> TLA+ text, the inverse of :func:`parse_tla_value` (model values come back as strings)."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
    if isinstance(v, tuple):
        return "<<" + ", ".join(format_tla_value(x) for x in v) + ">>"
    if isinstance(v, (frozenset, set)):
        return "{" + ", ".join(sorted(format_tla_value(x) for x in v)) + "}"
    if isinstance(v, dict):
        if v and all(isinstance(k, str) and re.fullmatch(r"[A-Za-z_]\w*", k) for k in v):
            return "[" + ", ".join(f"{k} |-> {format_tla_value(x)}" for k, x in v.items()) + "]"
        if not v:
            return "<<>>"
        return "(" + " @@ ".join(f"{format_tla_value(k)} :> {format_tla_value(x)}" for k, x in v.items()) + ")"
    raise TypeError(f"no TLA+ rendering for {type(v).__name__}")


def jsonable(v):
    """A parsed TLA+ value made JSON-ready: tuples and sets become lists (sets sorted), a function whose
    keys are not all strings keeps its keys as TLA+ text (``{"<<1, 2>>": 0}``)."""
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, (tuple, list)):
        return [jsonable(x) for x in v]
    if isinstance(v, (frozenset, set)):
        return sorted((jsonable(x) for x in v), key=lambda x: (type(x).__name__, repr(x)))
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else format_tla_value(k)): jsonable(x) for k, x in v.items()}
    return str(v)


def parse_tla_state(text: str) -> dict:
    """``/\\ x = 1 /\\ y = <<>>`` (or ``x = 1`` for a one-variable spec) -> ``{"x": 1, "y": ()}``."""
    p = _ValueParser(text)
    state = {}
    while not p.done():
        if p.at("/\\"):
            p.take("/\\")
        kind, name = p.take()
        if kind != "id":
            raise TlaValueError(f"expected a variable name, got {name!r} in {text[:120]!r}")
        p.take("=")
        state[name] = p.value()
    return state


# =========================================================================================================
# TLC's -tool message framing
# =========================================================================================================

@attrs.define
class TlcMessage:
    code: int
    severity: int
    text: str = ""
    children: list["TlcMessage"] = attrs.field(factory=list)


_MARK = re.compile(r"@!@!@(?:STARTMSG (\d+):(\d+)|ENDMSG (\d+)) @!@!@")


class ToolOutputParser:
    """Feeds on TLC's ``-tool`` output line by line; returns top-level messages as they complete.

    Text outside any message (SANY's output, Java's own errors) is kept in :attr:`unframed` (capped).
    """

    MAX_UNFRAMED = 5000

    def __init__(self):
        self.stack: list[tuple[TlcMessage, list[str]]] = []
        self.unframed: list[str] = []

    def _text(self, s: str) -> None:
        if not s:
            return
        if self.stack:
            self.stack[-1][1].append(s)
        elif s.strip() and len(self.unframed) < self.MAX_UNFRAMED:
            self.unframed.append(s.rstrip("\n"))

    def feed(self, line: str) -> list[TlcMessage]:
        if not line.endswith("\n"):
            line += "\n"
        done = []
        pos = 0
        for m in _MARK.finditer(line):
            self._text(line[pos:m.start()])
            pos = m.end()
            if m.group(1) is not None:
                self.stack.append((TlcMessage(int(m.group(1)), int(m.group(2))), []))
                if line[pos:] == "\n":  # the marker ends the line: the body starts on the next one
                    pos = len(line)
            elif self.stack:
                self._close_innermost(done)
                if line[pos:] == "\n":
                    pos = len(line)
        self._text(line[pos:])
        return done

    def close(self) -> list[TlcMessage]:
        """Messages left open when TLC died (a kill, a JVM crash), closed as they are."""
        done = []
        while self.stack:
            self._close_innermost(done)
        return done

    def _close_innermost(self, done: list) -> None:
        """End the innermost open message: it becomes a child of its parent, or is done."""
        msg, parts = self.stack.pop()
        msg.text = "".join(parts).strip("\n")
        if self.stack:
            self.stack[-1][0].children.append(msg)
            self.stack[-1][1].append(msg.text + "\n")
        else:
            done.append(msg)


def parse_tool_output(text: str) -> tuple[list[TlcMessage], list[str]]:
    """All top-level messages of a complete ``-tool`` output, and its unframed lines."""
    p = ToolOutputParser()
    out = []
    for line in text.splitlines():
        out.extend(p.feed(line))
    out.extend(p.close())
    return out, p.unframed


# =========================================================================================================
# Progress and results
# =========================================================================================================

def _int(s: str) -> int:
    return int(re.sub(r"[^\d]", "", s) or 0)


_PROGRESS = re.compile(r"Progress\(([\d,.\s]+)\).*?:\s*([\d,.\s]+) states generated(?: \(([\d,.\s]+) s/min\))?, "
                       r"([\d,.\s]+) distinct states found(?: \(([\d,.\s]+) ds/min\))?, "
                       r"([\d,.\s]+) states? left on queue", re.S)
_STATS = re.compile(r"([\d,.\s]+) states generated, ([\d,.\s]+) distinct states found, "
                    r"([\d,.\s]+) states? left on queue")


@attrs.frozen
class TlcProgress:
    """One of TLC's progress reports (message 2200), with rates over the whole run so far."""

    generated: int
    distinct: int
    queue: int
    depth: int
    seconds: float
    generated_per_minute: int | None = None  # TLC's own rate over its last reporting interval

    @property
    def distinct_per_second(self) -> float:
        return self.distinct / self.seconds if self.seconds > 0 else 0.0

    def line(self, label: str = "TLC") -> str:
        rate = (f"{self.generated_per_minute / 60:,.0f} states/s" if self.generated_per_minute
                else f"{self.distinct_per_second:,.0f} distinct/s")
        return (f"{label}: {self.generated:,} generated, {self.distinct:,} distinct, {self.queue:,} on queue, "
                f"depth {self.depth}, {rate}, {self.seconds:.0f}s")


def parse_progress(text: str, seconds: float = 0.0) -> TlcProgress | None:
    m = _PROGRESS.search(text)
    if not m:
        return None
    return TlcProgress(generated=_int(m.group(2)), distinct=_int(m.group(4)), queue=_int(m.group(6)),
                       depth=_int(m.group(1)), seconds=seconds,
                       generated_per_minute=_int(m.group(3)) if m.group(3) else None)


@attrs.frozen
class TlcResult:
    """What TLC found, in the explorer's JSON shape (``"engine": "tlc"``) plus TLC's own numbers.

    ``status``: ``ok`` (the search finished, nothing violated), ``violated`` (stopped at a violation),
    ``timeout``, ``out-of-memory`` or ``error`` (TLC failed while checking; ``message`` says why).  After a
    timeout or out-of-memory the statistics are TLC's last progress report (partial).
    """

    preset: str
    distinct_states: int
    generated_states: int
    depth: int
    seconds: float
    properties: dict[str, str]
    counterexamples: dict[str, list[dict]]
    complete: bool
    status: str
    message: str = ""
    queue: int = 0
    initial_states: int = 0
    workers: str = ""
    tlc_version: str = ""
    exit_code: int | None = None
    assumptions_held: bool = False
    runs: int = 1
    scenarios: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def transitions(self) -> int:
        """TLC counts the initial states among the states generated; what remains are the transitions."""
        return max(self.generated_states - self.initial_states, 0)

    @property
    def violated(self) -> bool:
        return any(v == VIOLATED for v in self.properties.values())

    @property
    def finished(self) -> bool:
        """False when TLC could not finish: timeout, out of memory, crash."""
        return self.status in ("ok", "violated")

    def exit_status(self) -> int:
        """0 every checked property holds, 1 a violation (even if a later run timed out), 3 TLC did not finish."""
        if self.violated:
            return 1
        return 0 if self.finished else 3

    def to_json(self) -> dict:
        return {"preset": self.preset, "engine": "tlc", "distinct_states": self.distinct_states,
                "generated_states": self.generated_states, "transitions": self.transitions,
                "depth": self.depth, "seconds": round(self.seconds, 3), "complete": self.complete,
                "scenarios": list(self.scenarios), "properties": self.properties,
                "counterexamples": jsonable(self.counterexamples), "status": self.status, "message": self.message,
                "queue": self.queue, "workers": self.workers, "tlc_version": self.tlc_version,
                "exit_code": self.exit_code, "runs": self.runs, "notes": list(self.notes)}


# =========================================================================================================
# Finding and installing the tools
# =========================================================================================================

def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "membarrier-spec"


def cached_jar() -> Path:
    return cache_dir() / "tla2tools.jar"


def check_jar(path: Path) -> Path:
    """``path`` if it is a tla2tools.jar (a zip holding ``tlc2/TLC.class``), else a one-line TlcSetupError."""
    if not path.exists():
        raise TlcSetupError(f"no tla2tools.jar at {path}")
    if not path.is_file():
        raise TlcSetupError(f"{path} is not a file, so not tla2tools.jar")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise TlcSetupError(f"{path} is not tla2tools.jar: not a jar (zip) file ({exc})") from None
    if "tlc2/TLC.class" not in names:
        raise TlcSetupError(f"{path} is a jar but not tla2tools.jar: it has no tlc2/TLC.class")
    return path


def find_jar(jar: str | os.PathLike | None = None) -> Path:
    """The jar to use: ``jar``, ``$TLA2TOOLS_JAR``, then the cache; checked with :func:`check_jar`."""
    if jar:
        return check_jar(Path(jar).expanduser())
    env = os.environ.get(JAR_ENV)
    if env:
        p = Path(env).expanduser()
        if not p.exists():
            raise TlcSetupError(f"${JAR_ENV} names {p}, which does not exist")
        return check_jar(p)
    p = cached_jar()
    if p.exists():
        return check_jar(p)
    raise TlcSetupError(f"no tla2tools.jar found (looked at --jar, ${JAR_ENV} and {p}); "
                        f"run `membarrier-spec install-tlc` or pass --jar PATH")


_java_ok: set[str] = set()


def find_java(java: str | os.PathLike | None = None) -> str:
    """The Java executable: ``java``, ``$JAVA_HOME/bin/java``, then ``java`` on PATH; must be 11 or newer."""
    if java:
        cand = str(Path(java).expanduser())
        if os.sep not in cand and not Path(cand).exists():
            found = shutil.which(cand)
            if found is None:
                raise TlcSetupError(f"no Java: {cand!r} is not on PATH")
            cand = found
        if not Path(cand).exists():
            raise TlcSetupError(f"no Java at {cand}")
        source = "--java"
    elif os.environ.get("JAVA_HOME") and Path(os.environ["JAVA_HOME"], "bin", "java").exists():
        cand, source = str(Path(os.environ["JAVA_HOME"], "bin", "java")), "$JAVA_HOME"
    else:
        found = shutil.which("java")
        if found is None:
            raise TlcSetupError(f"no Java found on PATH: install a Java {MIN_JAVA}+ runtime "
                                f"(e.g. apt-get install default-jre-headless), or pass --java PATH")
        cand, source = found, "PATH"
    if cand in _java_ok:
        return cand
    if not os.access(cand, os.X_OK) or Path(cand).is_dir():
        raise TlcSetupError(f"no Java: {cand} (from {source}) is not an executable")
    try:
        proc = subprocess.run([cand, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise TlcSetupError(f"no Java: {cand} (from {source}) does not run: {exc}") from None
    out = proc.stderr + proc.stdout
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if proc.returncode != 0 or not m:
        first = out.strip().splitlines()[0] if out.strip() else f"exit status {proc.returncode}"
        raise TlcSetupError(f"no Java: `{cand} -version` failed: {first}")
    major = int(m.group(1))
    if major == 1 and m.group(2):  # "1.8.0_292"
        major = int(m.group(2))
    if major < MIN_JAVA:
        raise TlcSetupError(f"{cand} is Java {major}; TLC needs Java {MIN_JAVA} or newer")
    _java_ok.add(cand)
    return cand


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def install_tlc(*, url: str | None = None, sha256: str | None = None, dest: Path | None = None,
                force: bool = False, timeout: float = 120.0, log: Callable[[str], None] | None = None) -> Path:
    """Download the pinned tla2tools.jar into the cache, refusing it unless its SHA-256 matches.

    ``url``/``sha256`` default to ``$MEMBARRIER_SPEC_TLC_URL``/``$MEMBARRIER_SPEC_TLC_SHA256``, then to the
    pinned release.  An existing jar with the expected hash is kept (unless ``force``); otherwise the new
    file is written next to it and renamed over it only once verified, so a failed or refused download
    never damages a working installation.
    """
    url = url or os.environ.get(URL_ENV) or PINNED_URL
    expected = (sha256 or os.environ.get(SHA256_ENV) or PINNED_SHA256).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise TlcSetupError(f"not a SHA-256 (64 hex digits): {expected!r}")
    dest = Path(dest).expanduser() if dest else cached_jar()
    say = log or (lambda s: None)
    if dest.is_dir():
        raise TlcSetupError(f"--dest {dest} is a directory; give the path of the jar file to write")
    if dest.exists() and not dest.is_file():
        raise TlcSetupError(f"--dest {dest} exists and is not a regular file")
    if dest.parent.is_dir() and not os.access(dest.parent, os.W_OK):
        raise TlcSetupError(f"cannot write into {dest.parent}: permission denied")
    if dest.is_file() and not os.access(dest, os.W_OK):
        raise TlcSetupError(f"cannot overwrite {dest}: permission denied")
    if not force and dest.is_file() and sha256_of(dest) == expected:
        say(f"{dest} is already the pinned tla2tools.jar (sha256 {expected})")
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TlcSetupError(f"cannot create {dest.parent}: {exc.strerror or exc}") from None
    fd, tmp_name = tempfile.mkstemp(prefix=".tla2tools-", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        say(f"downloading {url}")
        h = hashlib.sha256()
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "membarrier-spec install-tlc"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                fd = -1
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    h.update(chunk)
                    out.write(chunk)
        except urllib.error.HTTPError as exc:
            raise TlcSetupError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TlcSetupError(f"download of {url} failed: {reason}") from None
        got = h.hexdigest()
        if got != expected:
            raise TlcSetupError(f"refusing {url}: its SHA-256 is {got}, expected {expected}; "
                                f"nothing was installed")
        check_jar(tmp)
        os.replace(tmp, dest)
        say(f"installed {dest} (sha256 {got})")
        return dest
    finally:
        if fd != -1:
            os.close(fd)
        tmp.unlink(missing_ok=True)


# =========================================================================================================
# Spec files: modules to copy, cfg sections, action parameter names, source lines
# =========================================================================================================

def _strip_tla_comments(src: str) -> str:
    out, depth, i = [], 0, 0
    while i < len(src):
        two = src[i:i + 2]
        if two == "(*":
            depth += 1
            i += 2
            continue
        if two == "*)" and depth:
            depth -= 1
            i += 2
            continue
        if depth:
            out.append("\n" if src[i] == "\n" else " ")
            i += 1
            continue
        if two == "\\*":
            j = src.find("\n", i)
            i = len(src) if j == -1 else j
            continue
        if src[i] == '"':
            m = re.compile(r'"(?:[^"\\\n]|\\.)*"').match(src, i)
            if m:
                out.append(m.group())
                i = m.end()
                continue
        out.append(src[i])
        i += 1
    return "".join(out)


def module_dependencies(spec: Path) -> list[Path]:
    """``spec`` and the modules it EXTENDS or INSTANCEs, transitively, that live in its directory."""
    seen: dict[str, Path] = {}
    todo = [spec]
    while todo:
        p = todo.pop()
        if p.stem in seen:
            continue
        seen[p.stem] = p
        try:
            src = _strip_tla_comments(p.read_text(errors="replace"))
        except OSError:
            continue
        names = []
        for m in re.finditer(r"\bEXTENDS\s+((?:[A-Za-z_]\w*\s*,\s*)*[A-Za-z_]\w*)", src):
            names += [n.strip() for n in m.group(1).split(",")]
        names += re.findall(r"\bINSTANCE\s+([A-Za-z_]\w*)", src)
        for n in names:
            q = spec.parent / f"{n}.tla"
            if n not in seen and q.is_file():
                todo.append(q)
    return list(seen.values())


def operator_parameters(paths: Iterable[Path]) -> dict[str, list[str]]:
    """``{"Incr": ["p"], ...}``: the formal parameters of every operator defined with parameters."""
    out: dict[str, list[str]] = {}
    for p in paths:
        try:
            src = _strip_tla_comments(p.read_text(errors="replace"))
        except OSError:
            continue
        for m in re.finditer(r"^[ \t]*([A-Za-z_]\w*)[ \t]*\(([^()]*)\)[ \t]*==", src, re.M):
            params = [a.strip() for a in m.group(2).split(",")]
            if all(re.fullmatch(r"[A-Za-z_]\w*", a) for a in params):
                out.setdefault(m.group(1), params)
    return out


_CFG_KEYWORDS = {"CONSTANT", "CONSTANTS", "INIT", "NEXT", "SPECIFICATION", "INVARIANT", "INVARIANTS",
                 "PROPERTY", "PROPERTIES", "CONSTRAINT", "CONSTRAINTS", "ACTION_CONSTRAINT",
                 "ACTION_CONSTRAINTS", "SYMMETRY", "VIEW", "CHECK_DEADLOCK", "POSTCONDITION", "ALIAS"}
_CFG_TOKEN = re.compile(r'\(\*.*?\*\)|\\\*[^\n]*|"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|\S', re.S)
_INV_KWS, _PROP_KWS = {"INVARIANT", "INVARIANTS"}, {"PROPERTY", "PROPERTIES"}


def _cfg_sections(text: str) -> tuple[str, list[tuple[str, int, int, list[str]]]]:
    """(text before the first keyword, [(keyword, start, end, identifiers in its body)])."""
    sections: list[tuple[str, int, int, list[str]]] = []
    for m in _CFG_TOKEN.finditer(text):
        tok = m.group()
        if tok.startswith("(*") or tok.startswith("\\*"):
            continue
        if tok in _CFG_KEYWORDS:
            if sections:
                kw, s, _, ids = sections[-1]
                sections[-1] = (kw, s, m.start(), ids)
            sections.append((tok, m.start(), len(text), []))
        elif sections and re.fullmatch(r"[A-Za-z_]\w*", tok):
            sections[-1][3].append(tok)
    head = text[:sections[0][1]] if sections else text
    return head, sections


def cfg_names(text: str, kind: str) -> list[str]:
    """The names a cfg lists under INVARIANT(S) (``kind="INVARIANT"``) or PROPERTY/PROPERTIES."""
    kws = _INV_KWS if kind.upper().startswith("INVARIANT") else _PROP_KWS
    out: list[str] = []
    for kw, _, _, ids in _cfg_sections(text)[1]:
        if kw in kws:
            out += [n for n in ids if n not in out]
    return out


def rewrite_cfg(text: str, invariants: Iterable[str], properties: Iterable[str]) -> str:
    """``text`` with its INVARIANT(S)/PROPERTY(IES) sections replaced by exactly these names."""
    head, sections = _cfg_sections(text)
    parts = [head]
    for kw, s, e, _ in sections:
        if kw not in _INV_KWS | _PROP_KWS:
            parts.append(text[s:e])
    body = "".join(parts).rstrip() + "\n"
    invariants, properties = list(invariants), list(properties)
    if invariants:
        body += "INVARIANTS\n" + "".join(f"    {n}\n" for n in invariants)
    if properties:
        body += "PROPERTIES\n" + "".join(f"    {n}\n" for n in properties)
    return body


def _source_line(spec_dir: Path, module: str, line: int) -> str | None:
    try:
        lines = (spec_dir / f"{module}.tla").read_text(errors="replace").splitlines()
    except OSError:
        return None
    return lines[line - 1] if 0 < line <= len(lines) else None


def _quoted_line(line: int, src: str) -> str:
    """A source line to append to an error message: a new line holding ``    LINE | text``."""
    return f"\n    {line:4} | {src.rstrip()}"


def _unframed_tail(unframed: list[str], limit: int, default: str) -> str:
    """The last ``limit`` characters of TLC's unframed output, without SANY's progress lines."""
    keep = [ln for ln in unframed if not ln.startswith(("Parsing file", "Semantic processing"))]
    return " ".join(" ".join(keep).split())[-limit:] or default


def _sany_error(unframed: list[str], spec: Path) -> str:
    """TLC's parse or semantic error, with the offending source line."""
    text = "\n".join(unframed)
    module, line, col, what = None, None, None, None
    if "***Parse Error***" in text:
        block = text.split("***Parse Error***", 1)[1]
        block = block.split("Residual stack trace", 1)[0].strip()
        what = "parse error: " + " ".join(block.split())
        m = re.search(r"at line (\d+), column (\d+)", block)
        if m:
            line, col = int(m.group(1)), int(m.group(2))
        m = re.search(r"Could not parse module (\w+)", text)
        files = re.findall(r"Parsing file (\S+?)\.tla\b", text)
        module = m.group(1) if m else (Path(files[-1]).name if files else spec.stem)
    elif "Lexical error" in text:
        m = re.search(r"Lexical error at line (\d+), column (\d+)\.\s*(.*)", text)
        files = re.findall(r"Parsing file (\S+?)\.tla\b", text)
        module = Path(files[-1]).name if files else spec.stem
        if m:
            line, col = int(m.group(1)), int(m.group(2))
            what = "lexical error: " + " ".join(m.group(3).split())
        else:
            what = "lexical error"
    elif re.search(r"\*\*\* Errors: \d+", text):
        block = re.split(r"\*\*\* Errors: \d+", text, maxsplit=1)[1]
        m = re.search(r"line (\d+), col (\d+) to line \d+, col \d+ of module (\w+)\s*\n(.*?)(?:\n\s*\n|\Z)",
                      block, re.S)
        if m:
            line, col, module = int(m.group(1)), int(m.group(2)), m.group(3)
            what = "semantic error: " + " ".join(m.group(4).split())
        else:
            what = "semantic error: " + " ".join(block.split())[:300]
    else:
        m = re.search(r"Cannot find source file for module (\w+)[^\n]*", text)
        if m:
            what = m.group(0).strip()
        else:
            what = _unframed_tail(unframed, 400, "SANY failed without a message")
    out = f"TLC rejected {spec.name}: {what}"
    if line is not None:
        out += f"\n  at line {line}, column {col} of module {module}"
        src = _source_line(spec.parent, module or spec.stem, line)
        if src is not None:
            out += ":" + _quoted_line(line, src)
            if col:
                out += "\n         | " + " " * (col - 1) + "^"
    return out


# =========================================================================================================
# One TLC run
# =========================================================================================================

_LABEL = re.compile(r"^<(?P<name>[^\s(>]+)(?P<rest>.*?)>\s*$", re.S)
_LOCATION = re.compile(r"\s+line \d+, col \d+ to line \d+, col \d+ of module \w+$")


def parse_action_label(label: str, params: dict[str, list[str]] | None = None) -> tuple[str, dict]:
    """``<Incr(p1) line 17, col 12 to ... of module M>`` -> ``("Incr", {"p": "p1"})``; Init for the initial state."""
    label = label.strip()
    if label in ("<Initial predicate>", "<Init>"):
        return "Init", {}
    m = _LABEL.match(label)
    if not m:
        return label.strip("<>"), {}
    name, rest = m.group("name"), _LOCATION.sub("", m.group("rest"))
    args: dict = {}
    rest = rest.strip()
    if rest.startswith("(") and rest.endswith(")"):
        try:
            values = parse_tla_value("<<" + rest[1:-1] + ">>")
        except TlaValueError:
            values = (rest[1:-1],)
        names = (params or {}).get(name)
        if names and len(names) == len(values):
            args = dict(zip(names, values))
        else:
            args = {f"arg{i}": v for i, v in enumerate(values)}
    return name, args


@attrs.define
class _Violation:
    kind: str  # invariant | property | temporal | deadlock
    name: str
    trace: list[dict] = attrs.field(factory=list)


class _Collector:
    """Turns TLC's messages into statistics, violations and traces."""

    def __init__(self, params: dict[str, list[str]], start: float):
        self.params = params
        self.start = start
        self.version = ""
        self.workers = ""
        self.initial = 0
        self.progress: TlcProgress | None = None
        self.stats: tuple[int, int, int] | None = None
        self.depth: int | None = None
        self.success = False
        self.temporal_checked = False
        self.temporal_complete = False
        self.violations: list[_Violation] = []
        self.errors: list[TlcMessage] = []
        self.parse_failed = False
        self.config_error: TlcMessage | None = None
        self.oom = False
        self.server_ready = False
        self.assumption: TlcMessage | None = None
        self.reached_init = False  # TLC got to the initial states, so every ASSUME held
        self.expect_trace = False  # a violation was named and its trace has not started yet

    def _trace(self) -> list[dict] | None:
        return self.violations[-1].trace if self.violations else None

    def handle(self, msg: TlcMessage) -> TlcProgress | None:
        code, text = msg.code, msg.text
        codes = {code} | {c.code for c in msg.children}
        if code == MSG_VERSION:
            self.version = text.strip()
        elif code == MSG_MODE:
            m = re.search(r"with (\d+) workers?", text)
            self.workers = m.group(1) if m else ""
        elif code == MSG_INIT_START:
            self.reached_init = True
        elif code == MSG_INIT_DONE:
            m = re.search(r"([\d,.]+) distinct state", text)
            self.initial = _int(m.group(1)) if m else 0
        elif code == MSG_PROGRESS:
            p = parse_progress(text, time.monotonic() - self.start)
            if p:
                self.progress = p
                return p
        elif code == MSG_STATS:
            m = _STATS.search(text)
            if m:
                self.stats = (_int(m.group(1)), _int(m.group(2)), _int(m.group(3)))
        elif code == MSG_DEPTH:
            m = re.search(r"is (\d+)", text)
            self.depth = int(m.group(1)) if m else None
        elif code == MSG_SUCCESS:
            self.success = True
        elif code == MSG_TEMPORAL_START:
            self.temporal_checked = True
            self.temporal_complete = self.temporal_complete or "complete state space" in text
        elif code in (MSG_INVARIANT, MSG_INVARIANT_INIT):
            m = re.search(r"Invariant (\S+) is violated", text)
            v = _Violation("invariant", m.group(1) if m else "?")
            self.violations.append(v)
            self.expect_trace = code == MSG_INVARIANT
            if code == MSG_INVARIANT_INIT:
                body = text.split("\n", 1)[1] if "\n" in text else ""
                v.trace.append({"action": "Init", "args": {}, "state": self._state(body)})
        elif code in (MSG_ACTION_PROPERTY, MSG_PROPERTY_INIT):
            m = re.search(r"[Pp]roperty (\S+) is violated", text)
            v = _Violation("property", m.group(1) if m else "?")
            self.violations.append(v)
            self.expect_trace = code == MSG_ACTION_PROPERTY
            if code == MSG_PROPERTY_INIT and "\n" in text:
                v.trace.append({"action": "Init", "args": {}, "state": self._state(text.split("\n", 1)[1])})
        elif code == MSG_TEMPORAL:
            self.violations.append(_Violation("temporal", ""))
            self.expect_trace = True
        elif code == MSG_DEADLOCK:
            self.violations.append(_Violation("deadlock", "Deadlock"))
            self.expect_trace = True
        elif code in (MSG_BEHAVIOR, MSG_COUNTEREXAMPLE):
            if not self.expect_trace:  # distributed TLC prints the trace without naming the invariant
                self.violations.append(_Violation("unknown", ""))
            self.expect_trace = False
        elif code in (MSG_STATE, MSG_STATE1):
            trace = self._trace()
            if trace is not None:
                head, _, body = text.partition("\n")
                m = re.match(r"\s*\d+:\s*(<.*>)\s*$", head)
                if m:
                    action, args = parse_action_label(m.group(1), self.params)
                else:  # no label line: the whole text is the state
                    action, args, body = "?", {}, text
                trace.append({"action": action, "args": args, "state": self._state(body)})
        elif code == MSG_STUTTER:
            trace = self._trace()
            if trace:
                trace.append({"action": "Stuttering", "args": {}, "state": trace[-1]["state"]})
        elif code == MSG_BACK_TO:
            trace = self._trace()
            m = re.match(r"\s*(\d+):\s*Back to state:\s*(<.*>)?", text, re.S)
            if trace and m:
                k = int(m.group(1)) - 1
                action, args = parse_action_label(m.group(2), self.params) if m.group(2) else ("?", {})
                if 0 <= k < len(trace):
                    trace.append({"action": action, "args": args, "state": trace[k]["state"], "back_to": k})
        elif code == MSG_SERVER_READY:
            self.server_ready = True
        elif codes & {MSG_PARSE_FAILED, MSG_PARSE_FAILED2}:
            self.parse_failed = True
        elif codes & CONFIG_ERROR_CODES:
            self.config_error = msg
        elif code == MSG_ASSUMPTION_FALSE:  # (2105, failing to evaluate one, is an ordinary error)
            self.assumption = msg
        if msg.severity == 1 and code not in (MSG_INVARIANT, MSG_INVARIANT_INIT, MSG_ACTION_PROPERTY,
                                                MSG_PROPERTY_INIT, MSG_TEMPORAL, MSG_DEADLOCK,
                                                MSG_BEHAVIOR, MSG_COUNTEREXAMPLE):
            self.errors.append(msg)
            if _OOM_TEXT.search(text):
                self.oom = True
        if codes & {MSG_OOM, MSG_OOM_INIT, MSG_OOM_LIVENESS}:
            self.oom = True
        return None

    @staticmethod
    def _state(body: str) -> dict:
        try:
            return parse_tla_state(body)
        except TlaValueError:
            return {"_unparsed": body.strip()}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TMP_PREFIX, OWNER = "membarrier-tlc-", "owner.pid"


def reclaim_temporary_dirs() -> list[str]:
    """Remove the temporary directories of runs whose process is gone (killed by SIGKILL, say); their paths."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        try:
            pid = int((path / OWNER).read_text())
            os.kill(pid, 0)
            continue  # its owner still runs
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # not ours to judge (no owner file yet, another user's)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed


_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started it dies, however it dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _spawn(cmd: list[str], cwd: Path, stdout) -> subprocess.Popen:
    # TLC runs in its own session (a terminal's Ctrl-C reaches Python only, which stops TLC cleanly), and dies
    # with Python even on SIGKILL.  PR_SET_PDEATHSIG fires when the spawning *thread* ends, so it is set only
    # from the main thread, which lives as long as the process.
    main_thread = threading.current_thread() is threading.main_thread()
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
                            text=True, encoding="utf-8", errors="replace", start_new_session=True,
                            preexec_fn=_die_with_parent if main_thread and sys.platform == "linux" else None)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    return proc


def _kill(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Kill ``proc``'s whole process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    try:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)


def kill_all() -> None:
    """Kill every TLC process this module started that is still running (used on interpreter exit)."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for p in procs:
        _kill(p, grace=1.0)


atexit.register(kill_all)


def _workers_arg(workers) -> str:
    if workers is None or str(workers) == "auto":
        return "auto"
    try:
        n = int(workers)
    except (TypeError, ValueError):
        raise MembarrierSpecError(f"--workers must be a positive integer or 'auto', got {workers!r}") from None
    if n < 1:
        raise MembarrierSpecError(f"--workers must be a positive integer or 'auto', got {workers!r}")
    return str(n)


def _heap_arg(heap: str | None) -> list[str]:
    if not heap:
        return []
    if not re.fullmatch(r"\d+[kKmMgGtT]?", str(heap)):
        raise MembarrierSpecError(f"--heap must look like 512m or 4g, got {heap!r}")
    return [f"-Xmx{heap}"]


def _spec_and_cfg(spec, cfg) -> tuple[Path, Path]:
    """``spec`` (an existing .tla file) and ``cfg`` (default: the spec's .cfg, which must exist) as paths."""
    spec = Path(spec)
    if spec.suffix != ".tla":
        raise MembarrierSpecError(f"{spec} is not a .tla file")
    if not spec.is_file():
        raise MembarrierSpecError(f"no such spec: {spec}")
    cfg = Path(cfg) if cfg else spec.with_suffix(".cfg")
    if not cfg.is_file():
        raise MembarrierSpecError(f"no such TLC configuration: {cfg}")
    return spec, cfg


def run_tlc(spec: Path, cfg: Path | None = None, *, jar=None, java=None, workers="auto", heap: str | None = None,
            timeout: float | None = None, on_progress: Callable[[TlcProgress], None] | None = None,
            invariants: Iterable[str] | None = None, properties: Iterable[str] | None = None,
            check_deadlock: bool | None = None, distributed: int = 0, name: str | None = None,
            progress_interval: int = DEFAULT_PROGRESS_INTERVAL) -> TlcResult:
    """Run TLC once on ``spec`` with ``cfg`` (default: the spec's .cfg) in a temporary directory.

    ``invariants``/``properties`` select what to check (default: what the cfg lists); ``check_deadlock``
    False passes ``-deadlock`` (None: as the cfg says).  ``distributed=N`` runs a TLCServer and N TLCWorkers
    on this machine instead of one TLC.  Raises :class:`TlcSetupError` (Java, jar) or :class:`TlcSpecError`
    (parse, semantic, configuration errors); a timeout, out-of-memory or crash is a result with that
    ``status`` and the last statistics TLC reported.  On ``KeyboardInterrupt`` TLC is killed, the temporary
    directory removed, and the interrupt re-raised.
    """
    spec, cfg = _spec_and_cfg(spec, cfg)
    if timeout is not None and timeout <= 0:
        raise MembarrierSpecError(f"--timeout must be positive, got {timeout}")
    workers_arg = _workers_arg(workers)
    heap_args = _heap_arg(heap)
    if distributed < 0:
        raise MembarrierSpecError(f"--distributed must be a positive number of workers, got {distributed}")
    jar_path = find_jar(jar)
    java_exe = find_java(java)
    cfg_text = cfg.read_text(errors="replace")
    invs = list(invariants) if invariants is not None else cfg_names(cfg_text, "INVARIANT")
    props = list(properties) if properties is not None else cfg_names(cfg_text, "PROPERTY")
    deps = module_dependencies(spec)
    params = operator_parameters(deps)

    reclaim_temporary_dirs()
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    (tmp / OWNER).write_text(str(os.getpid()))
    procs: list[subprocess.Popen] = []
    start = time.monotonic()
    collector = _Collector(params, start)
    parser = ToolOutputParser()
    timed_out = False
    try:
        for p in deps:
            shutil.copy2(p, tmp / p.name)
        run_cfg = tmp / f"{spec.stem}.run.cfg"
        run_cfg.write_text(rewrite_cfg(cfg_text, invs, props))
        (tmp / "java-tmp").mkdir()
        jvm = ["-XX:+UseParallelGC", *heap_args, f"-Djava.io.tmpdir={tmp / 'java-tmp'}",
               "-Duser.language=en", "-Duser.country=US", "-Dfile.encoding=UTF-8",
               f"-Dtlc2.TLC.progressInterval={max(int(progress_interval), 1)}"]
        tlc_opts = ["-config", run_cfg.name, "-metadir", str(tmp / "states")]
        if check_deadlock is False:
            tlc_opts.append("-deadlock")
        if props and not distributed:  # liveness once, on the whole graph, not every time it doubles
            tlc_opts += ["-lncheck", "final"]
        port = None
        if distributed:
            port = _free_port()
            net = [f"-Dtlc2.tool.distributed.TLCServer.port={port}", "-Djava.rmi.server.hostname=127.0.0.1"]
            cmd = [java_exe, *jvm, *net, "-cp", str(jar_path), "tlc2.tool.distributed.TLCServer",
                   "-tool", *tlc_opts, spec.name]
            threads = [] if workers_arg == "auto" else [f"-Dtlc2.tool.distributed.TLCWorker.threadCount={workers_arg}"]
            worker_cmd = [java_exe, *jvm, *net, *threads, "-cp", str(jar_path), "tlc2.tool.distributed.TLCWorker",
                          "127.0.0.1"]
        else:
            cmd = [java_exe, *jvm, "-cp", str(jar_path), "tlc2.TLC", "-tool", "-workers", workers_arg,
                   "-noGenerateSpecTE", *tlc_opts, spec.name]
        try:
            main = _spawn(cmd, tmp, subprocess.PIPE)
        except OSError as exc:
            raise TlcSetupError(f"cannot start Java ({java_exe}): {exc.strerror or exc}") from None
        procs.append(main)
        lines: queue.Queue = queue.Queue()

        def pump():
            assert main.stdout is not None
            for ln in main.stdout:
                lines.put(ln)
            lines.put(None)

        reader = threading.Thread(target=pump, name="tlc-output", daemon=True)
        reader.start()
        deadline = None if timeout is None else start + timeout
        eof = False
        workers_started = False
        while not eof:
            try:
                ln = lines.get(timeout=0.1)
            except queue.Empty:
                ln = ""
            if ln is None:
                eof = True
            elif ln:
                for msg in parser.feed(ln):
                    p = collector.handle(msg)
                    if p is not None and on_progress is not None:
                        on_progress(p)
                if "java.lang.OutOfMemoryError" in ln:  # also when the JVM dies outside TLC's messages
                    collector.oom = True
            if distributed and collector.server_ready and not workers_started:
                workers_started = True
                for i in range(distributed):
                    log = open(tmp / f"worker-{i}.log", "w")
                    try:
                        procs.append(_spawn(worker_cmd, tmp, log))
                    finally:
                        log.close()
            if deadline is not None and time.monotonic() > deadline and not eof:
                timed_out = True
                break
        for msg in parser.close():
            collector.handle(msg)
        if timed_out:
            for p in procs:
                _kill(p)
        else:
            main.wait()
        seconds = time.monotonic() - start
        exit_code = main.returncode
        workers_text = (f"{distributed} TLCWorker process{'es' if distributed > 1 else ''}" if distributed
                        else collector.workers)
        return _result(collector, parser.unframed, spec, name or spec.stem, invs, props, seconds, exit_code,
                       timed_out, timeout, workers=workers_text, distributed=bool(distributed))
    finally:
        for p in procs:
            _kill(p)
        shutil.rmtree(tmp, ignore_errors=True)


def _error_text(errors: list[TlcMessage], limit: int = 600) -> str:
    """TLC's first error, without the state dump it may carry, plus where in the spec it happened."""
    errs = [m for m in errors if m.text.strip() and m.code != 2103]
    if not errs:
        return ""
    text = re.split(r"\n\s*While working on|\nThe behavior up to this point", errs[0].text)[0]
    what = " ".join(text.split())
    where = [m for m in errors if m.code == 2103]
    if where:
        positions = re.findall(r"^\s*\d+\.\s*(Line .*)$", where[0].text, re.M)
        if positions:
            what += f" (innermost expression: {positions[-1].strip()})"
    return what if len(what) <= limit else what[:limit - 3] + "..."


_SPAN = re.compile(r"line (\d+), col (\d+) to line (\d+), col (\d+) of module (\w+)")


def _span_text(text: str, spec_dir: Path) -> tuple[str, int, str] | None:
    """(module, line, source text) of the first ``line L, col C to line L2, col C2 of module M`` in ``text``."""
    m = _SPAN.search(text)
    if not m:
        return None
    l1, c1, l2, c2, module = int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5)
    try:
        lines = (spec_dir / f"{module}.tla").read_text(errors="replace").splitlines()
    except OSError:
        return None
    if not (0 < l1 <= l2 <= len(lines)):
        return None
    if l1 == l2:
        return module, l1, lines[l1 - 1][c1 - 1:c2]
    return module, l1, "\n".join([lines[l1 - 1][c1 - 1:], *lines[l1:l2 - 1], lines[l2 - 1][:c2]])


def _assumption_name(text: str, spec_dir: Path) -> str | None:
    """``ASSUME Name`` that TLC found false -> ``Name``; None for an unnamed assumption."""
    span = _span_text(text, spec_dir)
    if span and re.fullmatch(r"[A-Za-z_]\w*", span[2].strip()):
        return span[2].strip()
    return None


def _located(message: str, text: str, spec_dir: Path) -> str:
    m = _SPAN.search(text)
    if not m:
        return message
    src = _source_line(spec_dir, m.group(5), int(m.group(1)))
    return message + (_quoted_line(int(m.group(1)), src) if src is not None else "")


def _result(c: _Collector, unframed: list[str], spec: Path, name: str, invs: list[str], props: list[str],
            seconds: float, exit_code: int | None, timed_out: bool, timeout: float | None, *, workers: str,
            distributed: bool) -> TlcResult:
    out_text = "\n".join(unframed)
    if not c.version:
        c.version = next((ln.strip() for ln in unframed if ln.startswith("TLC2 ")), "")
    if not timed_out:
        if c.parse_failed or exit_code == EXIT_PARSE:
            raise TlcSpecError(_sany_error(unframed, spec))
        if c.config_error is not None or exit_code == EXIT_CONFIG:
            msg = c.config_error or (c.errors[0] if c.errors else None)
            what = " ".join((msg.text if msg else out_text).split())
            raise TlcSpecError(f"TLC rejected the configuration for {spec.name}: {what}")
        if c.assumption is not None:
            named = _assumption_name(c.assumption.text, spec.parent)
            if named is None:
                raise TlcSpecError(_located(f"TLC rejected {spec.name}: {' '.join(c.assumption.text.split())}",
                                            c.assumption.text, spec.parent))
            c.violations.insert(0, _Violation("assumption", named))
        if not c.version and not c.success and exit_code not in (0, None):
            # Java itself failed before TLC started (bad -Xmx, unreadable jar, missing class ...)
            said = "; ".join(ln.strip() for ln in unframed if ln.strip())[:400] or f"exit status {exit_code}"
            if not (c.oom or _OOM_TEXT.search(out_text)):
                raise TlcSetupError(f"Java could not start TLC: {said}")
    if c.stats is not None:
        generated, distinct, queue_len = c.stats
    elif c.progress is not None:
        generated, distinct, queue_len = c.progress.generated, c.progress.distinct, c.progress.queue
    else:
        generated = distinct = queue_len = 0
    depth = c.depth if c.depth is not None else (c.progress.depth if c.progress else 0)
    verdicts = {n: NOT_CHECKED for n in [*invs, *props]}
    cex: dict[str, list[dict]] = {}
    message = ""
    complete = False
    oom = c.oom or (not c.success and bool(_OOM_TEXT.search(out_text)))
    if timed_out:
        status = "timeout"
        message = (f"TLC did not finish within {timeout:g}s; at that point: {distinct:,} distinct states, "
                   f"{generated:,} generated, {queue_len:,} on the queue, depth {depth}")
    elif oom:
        status = "out-of-memory"
        message = (f"TLC ran out of memory (Java heap); give it more with --heap (e.g. --heap 8g) or fewer "
                   f"--workers; at that point: {distinct:,} distinct states, {generated:,} generated")
    elif c.violations and c.violations[0].kind == "unknown" and c.errors:
        # TLC failed while evaluating (an error in the spec, say) and printed the behavior up to that point:
        # that trace belongs to the error, not to a violated invariant
        status = "error"
        message = (f"TLC failed (exit status {exit_code}) after a behavior of {len(c.violations[0].trace)} "
                   f"state(s): {_error_text(c.errors) or _unframed_tail(unframed, 500, 'no message')}")
    elif c.violations:
        status = "violated"
        v = c.violations[0]
        if v.kind == "unknown":
            if len(invs) == 1:
                verdicts[invs[0]] = VIOLATED
                cex[invs[0]] = v.trace
            else:
                cex["unknown"] = v.trace
        elif v.kind == "temporal":
            if len(props) == 1:
                verdicts[props[0]] = VIOLATED
                cex[props[0]] = v.trace
            else:
                cex["temporal"] = v.trace
            complete = c.temporal_complete
            if complete:
                for n in invs:
                    verdicts[n] = HOLDS
        else:
            verdicts[v.name] = VIOLATED
            cex[v.name] = v.trace
        message = {"invariant": f"invariant {v.name} is violated", "property": f"property {v.name} is violated",
                   "deadlock": "deadlock reached", "assumption": f"assumption {v.name} is false",
                   "temporal": "temporal properties were violated",
                   "unknown": "an invariant is violated (TLC did not say which)"}[v.kind]
    elif c.success and exit_code in (0, None):
        status = "ok"
        complete = True
        for n in invs:
            verdicts[n] = HOLDS
        for n in props:
            verdicts[n] = HOLDS if (not distributed or c.temporal_checked) else NOT_CHECKED
    else:
        status = "error"
        what = _error_text(c.errors)
        if not what:
            what = _unframed_tail(unframed, 500, "no message")
        message = f"TLC failed (exit status {exit_code}): {what}"
    notes = []
    if distributed and props and not c.temporal_checked and status == "ok":
        notes.append("distributed TLC does not check temporal properties: " + ", ".join(props) + " not checked")
    return TlcResult(preset=name, distinct_states=distinct, generated_states=generated, depth=depth,
                     seconds=seconds, properties=verdicts, counterexamples=cex, complete=complete, status=status,
                     message=message, queue=queue_len, initial_states=c.initial, workers=workers,
                     tlc_version=c.version, exit_code=exit_code, assumptions_held=c.reached_init,
                     notes=tuple(notes))


# =========================================================================================================
# Exactly one verdict per property: rerun TLC as needed
# =========================================================================================================

def check_spec(spec: Path, cfg: Path | None = None, *, invariants: Iterable[str] | None = None,
               properties: Iterable[str] | None = None, timeout: float | None = None, name: str | None = None,
               check_deadlock: bool | None = None, on_run: Callable[[int, list[str], list[str]], None] | None = None,
               **run_kw) -> TlcResult:
    """Check every invariant and property of ``spec``, giving each exactly one verdict.

    TLC stops at the first violation, and names no temporal property when one fails.  So: run with
    everything; a violated invariant (or action property) gets its verdict and counterexample and the rest
    is checked again without it; a temporal violation with several properties pending is resolved by
    checking them one at a time; a deadlock is recorded as ``Deadlock`` and the rest rerun with ``-deadlock``;
    a violation TLC does not name (distributed TLC prints the trace but not the invariant) is narrowed down
    by bisection over the invariants of that run.  The statistics are those of a run that explored the
    whole state space (one is made if needed).  ``timeout`` bounds all runs together.
    """
    spec, cfg = _spec_and_cfg(spec, cfg)
    text = cfg.read_text(errors="replace")
    invs = list(invariants) if invariants is not None else cfg_names(text, "INVARIANT")
    props = list(properties) if properties is not None else cfg_names(text, "PROPERTY")
    verdicts: dict[str, str] = {n: NOT_CHECKED for n in [*invs, *props]}
    cex: dict[str, list[dict]] = {}
    pending_inv, pending_prop = list(invs), list(props)
    one_prop_at_a_time = False
    suspects: list[str] | None = None  # invariants among which an unnamed violation was found ...
    suspect_trace: list[dict] = []     # ... and its trace
    complete_run: TlcResult | None = None
    last: TlcResult | None = None
    runs, seconds = 0, 0.0
    assumptions_held = False
    start = time.monotonic()
    notes: list[str] = []
    max_runs = 2 * len(invs) + 2 * len(props) + 4

    def violated(n: str, trace: list[dict]) -> None:
        verdicts[n] = VIOLATED
        cex[n] = trace
        for group in (pending_inv, pending_prop, suspects or []):
            if n in group:
                group.remove(n)

    while (pending_inv or pending_prop or complete_run is None) and runs < max_runs:
        remaining = None if timeout is None else timeout - (time.monotonic() - start)
        if remaining is not None and remaining <= 0:
            break
        if suspects:
            these_invs, these_props = suspects[:max(len(suspects) // 2, 1)], []
        else:
            these_invs = list(pending_inv)
            these_props = pending_prop[:1] if one_prop_at_a_time else list(pending_prop)
        if on_run:
            on_run(runs + 1, list(these_invs), list(these_props))
        r = run_tlc(spec, cfg, invariants=these_invs, properties=these_props, timeout=remaining,
                    check_deadlock=check_deadlock, name=name, **run_kw)
        runs += 1
        seconds += r.seconds
        last = r
        assumptions_held = assumptions_held or r.assumptions_held
        notes += [n for n in r.notes if n not in notes]
        if not r.finished or r.status == "error":  # TLC's own failure: another run would fail the same way
            break
        if r.status == "ok":
            for n in these_invs + these_props:
                verdicts[n] = r.properties.get(n, HOLDS)
            pending_inv = [n for n in pending_inv if n not in these_invs]
            pending_prop = [n for n in pending_prop if n not in these_props]
            complete_run = r
            if suspects:
                suspects = [n for n in suspects if n not in these_invs]
                if len(suspects) == 1:  # the others hold, so this one is the culprit
                    violated(suspects[0], suspect_trace)
                    suspects = None
            continue
        named = [n for n, v in r.properties.items() if v == VIOLATED]
        if any(n not in these_invs + these_props and n != "Deadlock" for n in named):
            # an ASSUME is false: TLC stops before the initial states, so nothing else can be checked
            for n in named:
                violated(n, r.counterexamples.get(n, []))
            break
        if r.complete:  # a temporal violation found after the whole state space was explored
            for n in these_invs:
                verdicts[n] = HOLDS
            pending_inv = [n for n in pending_inv if n not in these_invs]
            complete_run = r
        if "Deadlock" in r.counterexamples:
            check_deadlock = False
        elif "temporal" in r.counterexamples:
            one_prop_at_a_time = True
        elif "unknown" in r.counterexamples:
            if len(these_invs) == 1:
                named.append(these_invs[0])
            else:
                suspects, suspect_trace = list(these_invs), r.counterexamples["unknown"]
                continue
        for n in named:
            violated(n, r.counterexamples.get(n, r.counterexamples.get("unknown", [])))
        if named:  # an unnamed violation among the suspects is explained; the rest are checked as usual
            suspects = None
    assert last is not None or timeout is not None
    base = complete_run or last
    if base is None:  # the timeout was used up before any run
        return TlcResult(preset=name or spec.stem, distinct_states=0, generated_states=0, depth=0, seconds=0.0,
                         properties=verdicts, counterexamples=cex, complete=False, status="timeout",
                         message="no time left to run TLC", runs=0)
    failed = not last.finished or last.status == "error"
    status = last.status if failed else ("violated" if VIOLATED in verdicts.values() else "ok")
    message = last.message if failed else ""
    unresolved = [n for n in [*pending_inv, *pending_prop] if verdicts.get(n) == NOT_CHECKED]
    if not failed and (unresolved or complete_run is None) and not any(
            n not in invs + props + ["Deadlock"] for n in verdicts):  # (a false ASSUME ends checking on purpose)
        if timeout is not None and time.monotonic() - start >= timeout:
            status, message = "timeout", f"the {timeout:g}s timeout ran out after {runs} TLC run(s)"
        else:
            status, message = "error", f"gave up after {runs} TLC runs"
        if unresolved:
            message += f"; not checked: {', '.join(unresolved)}"
    return attrs.evolve(base, properties=verdicts, counterexamples=cex, seconds=seconds, runs=runs,
                        complete=complete_run is not None, status=status, message=message,
                        exit_code=last.exit_code, assumptions_held=assumptions_held, notes=tuple(notes))


# =========================================================================================================
# Counterexamples from a saved TLC log
# =========================================================================================================

_PLAIN_STATE = re.compile(r"^State (\d+): (<.*>)\s*$")
_PLAIN_STUTTER = re.compile(r"^State (\d+): Stuttering\s*$")
_PLAIN_BACK_TO = re.compile(r"^Back to state (\d+): (<.*>)\s*$")
_PLAIN_ERRORS = (  # TLC's plain "Error: ..." lines -> the -tool message each one stands for
    (re.compile(r"^Error: Invariant \S+ is violated by the initial state"), MSG_INVARIANT_INIT),
    (re.compile(r"^Error: Invariant \S+ is violated"), MSG_INVARIANT),
    (re.compile(r"^Error: Action property \S+ is violated by the initial state"), MSG_PROPERTY_INIT),
    (re.compile(r"^Error: Action property \S+ is violated"), MSG_ACTION_PROPERTY),
    (re.compile(r"^Error: Temporal properties were violated"), MSG_TEMPORAL),
    (re.compile(r"^Error: Deadlock reached"), MSG_DEADLOCK),
    (re.compile(r"^Error: The behavior up to this point is"), MSG_BEHAVIOR),
    (re.compile(r"^Error: The following behavior constitutes a counter-example"), MSG_COUNTEREXAMPLE),
)


def plain_messages(text: str) -> list[TlcMessage]:
    """TLC's plain (non ``-tool``) output as the ``-tool`` messages that carry counterexamples.

    Only what a trace needs: the violation lines, ``State N: <label>`` blocks (up to the blank line that
    ends each), ``State N: Stuttering`` and ``Back to state N: <label>``; everything else is skipped.
    """
    out: list[TlcMessage] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        i += 1
        code = next((c for rx, c in _PLAIN_ERRORS if rx.match(line)), None)
        if code is not None:
            body = line.removeprefix("Error: ")
            if code in (MSG_INVARIANT_INIT, MSG_PROPERTY_INIT):  # the state follows, up to a blank line
                while i < len(lines) and lines[i].strip():
                    body += "\n" + lines[i].rstrip()
                    i += 1
            out.append(TlcMessage(code, 1, body))
        elif m := _PLAIN_STATE.match(line):
            body = [f"{m.group(1)}: {m.group(2)}"]
            while i < len(lines) and lines[i].strip():
                body.append(lines[i].rstrip())
                i += 1
            out.append(TlcMessage(MSG_STATE, 4, "\n".join(body)))
        elif m := _PLAIN_STUTTER.match(line):
            out.append(TlcMessage(MSG_STUTTER, 4, f"{m.group(1)}: Stuttering"))
        elif m := _PLAIN_BACK_TO.match(line):
            out.append(TlcMessage(MSG_BACK_TO, 4, f"{m.group(1)}: Back to state: {m.group(2)}"))
    return out


TEMPORAL = "temporal property"  # TLC does not name the temporal property a lasso violates


def log_counterexamples(text: str) -> dict[str, list[dict]]:
    """The counterexamples in a saved TLC log (``-tool`` or plain output): ``{property: trace}``.

    Each trace has the shape of ``check --json``'s.  A temporal violation is keyed :data:`TEMPORAL`
    (TLC does not say which property it breaks), a deadlock ``Deadlock``.
    """
    if "@!@!@STARTMSG" in text:
        messages, _ = parse_tool_output(text)
    else:
        messages = plain_messages(text)
    c = _Collector({}, time.monotonic())
    for msg in messages:
        c.handle(msg)
    out: dict[str, list[dict]] = {}
    for v in c.violations:
        if v.trace:
            out[v.name or (TEMPORAL if v.kind == "temporal" else v.kind)] = v.trace
    return out


_LOG_ROOT = re.compile(r"^Parsing file (?:\S*[/\\])?(\w+)\.tla\b", re.M)  # SANY parses the root module first


def log_module(text: str) -> str | None:
    """The root module a saved TLC log checked, if the log names it."""
    m = _LOG_ROOT.search(text)
    return m.group(1) if m else None


# =========================================================================================================
# Presets
# =========================================================================================================

def default_tla_dir() -> Path:
    """``<repository>/tla`` for a source checkout (editable install), else ``./tla``."""
    repo = Path(__file__).resolve().parents[2] / "tla"
    return repo if repo.is_dir() else Path.cwd() / "tla"


def preset_files(preset_name: str, tla_dir: Path | None = None) -> tuple[Path, Path]:
    from .presets import preset
    from .tla import module_name  # the generator's own mapping (imported late: tla.py is the heavier module)
    preset(preset_name)  # an unknown name is a ConfigError listing the known ones
    tla_dir = Path(tla_dir) if tla_dir else default_tla_dir()
    module = module_name(preset_name)  # MC_<ident>: "-" becomes "_"
    spec, cfg = tla_dir / f"{module}.tla", tla_dir / f"{module}.cfg"
    for f in (spec, cfg):
        if not f.is_file():
            raise MembarrierSpecError(f"{f} does not exist: generate the TLA+ modules first "
                                      f"(`membarrier-spec generate {preset_name}`)")
    return spec, cfg


def check_preset(preset_name: str, *, tla_dir: Path | None = None, **kw) -> TlcResult:
    """Check a preset's generated ``MC_<preset>`` module; verdicts for every property, like the explorer.

    Only the properties the preset checks (``Preset.checked``) that its cfg lists are given to TLC; the
    others are ``not-checked``.  ``StableEinval`` is a property of the syscall rules, not of states, and the
    generated Membarrier.tla checks it as ``ASSUME StableEinval``: it holds when TLC gets past the assumptions
    and is violated when TLC reports that assumption false.  A spec that neither lists nor ASSUMEs it (a
    hand-written one) has it evaluated in Python exactly as the explorer does, and a note says so.
    """
    from .presets import preset
    from .properties import PROPERTIES, Kind
    p = preset(preset_name)
    spec, cfg = preset_files(preset_name, tla_dir)
    text = cfg.read_text(errors="replace")
    wanted = set(p.checked)
    invs = [n for n in cfg_names(text, "INVARIANT") if n in wanted]
    props = [n for n in cfg_names(text, "PROPERTY") if n in wanted]
    r = check_spec(spec, cfg, invariants=invs, properties=props, name=preset_name, **kw)
    verdicts = {q.name: r.properties.get(q.name, NOT_CHECKED) for q in PROPERTIES}
    notes = list(r.notes)
    static = [q for q in PROPERTIES if q.kind is Kind.STATIC and q.name in wanted and q.name not in r.properties]
    for q in static:  # a fact of the Config: TLC checks it as an ASSUME, if the spec has one
        assumed = any(re.search(rf"\bASSUME\s+{q.name}\b", _strip_tla_comments(m.read_text(errors="replace")))
                      for m in module_dependencies(spec))
        if assumed and r.assumptions_held:
            verdicts[q.name] = HOLDS  # TLC evaluated the ASSUME and went on
        elif assumed:
            verdicts[q.name] = NOT_CHECKED
        else:
            verdicts[q.name] = HOLDS if q.decide(p.config) else VIOLATED
            notes.append(f"{q.name} evaluated statically in Python (a property of the syscall rules; the spec "
                         f"neither lists nor ASSUMEs it)")
    missing = sorted(n for n in wanted if n not in r.properties and n not in {q.name for q in static})
    if missing:
        notes.append(f"not in {cfg.name}, so not checked by TLC: {', '.join(missing)}")
    for extra, v in r.properties.items():  # e.g. Deadlock
        if extra not in verdicts:
            verdicts[extra] = v
    return attrs.evolve(r, properties=verdicts, scenarios=tuple(p.config.scenarios), notes=tuple(notes))
