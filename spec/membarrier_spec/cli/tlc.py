"""``membarrier-spec install-tlc``, ``membarrier-spec check`` and the ``tlc-run`` console script.

Exit statuses (``check`` and ``tlc-run``):

* 0 -- every checked property holds;
* 1 -- a property is violated (its counterexample is printed), even if a later TLC run did not finish;
* 2 -- bad input: unknown preset, bad option, missing file, no Java, no jar, a wrong jar, or TLC rejected
  the spec or its cfg (parse, semantic or configuration error, quoted with its line);
* 3 -- TLC did not finish: timeout, out of memory, or TLC failed while checking (the statistics it had
  reached are printed);
* 130 -- interrupted (Ctrl-C; SIGTERM gives 143): TLC was killed and its temporary files removed.

``install-tlc`` exits 0 when the pinned jar is installed, 2 when the download fails or its SHA-256 does
not match (nothing is installed then).

Distributed mode: ``check PRESET --distributed N`` starts a TLCServer and N TLCWorker processes on this
machine, connected over 127.0.0.1, and kills them all when the run ends.  Workers on other hosts can join a
server started by hand: ``java -Dtlc2.tool.distributed.TLCServer.port=PORT -Djava.rmi.server.hostname=HOST
-cp tla2tools.jar tlc2.tool.distributed.TLCServer -tool MC_<preset>.tla`` on the server host, then
``java -Dtlc2.tool.distributed.TLCServer.port=PORT -cp tla2tools.jar tlc2.tool.distributed.TLCWorker
<server-host>`` on each worker host (see :mod:`membarrier_spec.tlc`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import tlc
from ..check import tlc_presets
from ..errors import MembarrierSpecError, Terminated
from ..model.properties import NOT_CHECKED
from .options import (EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, Parser, add_fresh, positive_int,
                      signals_unwind)


def register(sub) -> None:
    p = sub.add_parser("install-tlc",
                       help=f"download the pinned tla2tools.jar (v{tlc.PINNED_VERSION}) and verify its SHA-256",
                       description="Download tla2tools.jar into ~/.cache/membarrier-spec/ and refuse it "
                                   "unless its SHA-256 matches the pinned value.")
    p.add_argument("--url", help=f"download from here (default ${tlc.URL_ENV}, else {tlc.PINNED_URL})")
    p.add_argument("--sha256", help=f"expected SHA-256 (default ${tlc.SHA256_ENV}, else the pinned one)")
    p.add_argument("--dest", type=Path, help=f"where to put the jar (default {tlc.cached_jar()})")
    p.add_argument("--force", action="store_true", help="download even if the jar is already there")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("check", help="check a preset with TLC (on its generated TLA+) or with the explorer",
                       description="Check a preset's properties.  Exit 0: all hold; 1: a violation; "
                                   "2: bad input; 3: TLC did not finish (timeout, out of memory, crash).",
                       epilog="--distributed N runs a TLCServer and N TLCWorkers on 127.0.0.1; workers on "
                              "other hosts connect with `java -cp tla2tools.jar "
                              "tlc2.tool.distributed.TLCWorker <server-host>` (see membarrier_spec.tlc).")
    p.add_argument("preset", help="preset name (see `membarrier-spec presets`)")
    p.add_argument("--engine", choices=("tlc", "explorer"), default="tlc",
                   help="TLC on tla/MC_<preset>.tla (default) or the Python explorer")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_fresh(p)
    _tlc_options(p)
    p.set_defaults(func=cmd_check)


def _tlc_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("TLC options")
    g.add_argument("--jar", help=f"tla2tools.jar (default ${tlc.JAR_ENV}, then {tlc.cached_jar()})")
    g.add_argument("--java", help="the java executable (default $JAVA_HOME/bin/java, then java on PATH)")
    g.add_argument("--workers", type=_workers, default=None, metavar="N|auto",
                   help="TLC worker threads (default auto: one per core)")
    g.add_argument("--heap", metavar="SIZE", help="Java heap for TLC, e.g. 4g (default: Java's)")
    g.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="stop TLC after this long (all runs together) and report partial statistics")
    g.add_argument("--distributed", type=positive_int, metavar="N",
                   help="run a TLCServer and N TLCWorker processes on 127.0.0.1 instead of one TLC")
    g.add_argument("--tla-dir", type=Path, help="where the generated MC_<preset>.tla/.cfg are (default tla/)")


def _workers(text: str) -> str:
    if text == "auto":
        return text
    return str(positive_int(text))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


# ---------------------------------------------------------------------------------------------------------

def cmd_install(args) -> int:
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    path = tlc.install_tlc(url=args.url, sha256=args.sha256, dest=args.dest, force=args.force, log=say)
    print(path)
    return EXIT_OK


class ProgressLine:
    """TLC's progress reports on stderr: one line rewritten in place on a terminal, a line each otherwise."""

    def __init__(self, label: str, stream=None, enabled: bool = True):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.dirty = False
        self.last: tuple[int, int, int] | None = None

    def __call__(self, p: tlc.TlcProgress) -> None:
        if not self.enabled or (p.generated, p.distinct, p.queue) == self.last:
            return
        self.last = (p.generated, p.distinct, p.queue)
        line = p.line(self.label)
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
            self.dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def note(self, line: str) -> None:
        if not self.enabled:
            return
        self.end()
        self.last = None
        self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.dirty:
            self.stream.write("\n")
            self.stream.flush()
            self.dirty = False


def _on_run(progress: ProgressLine):
    def on_run(n: int, invariants: list[str], properties: list[str]) -> None:
        if n > 1:
            checking = ", ".join(invariants + properties) or "nothing (statistics only)"
            progress.note(f"{progress.label}: TLC run {n}, checking {checking}")
    return on_run


def _run_kw(args) -> dict:
    return dict(jar=args.jar, java=args.java, workers=args.workers, heap=args.heap,
                timeout=args.timeout, distributed=args.distributed or 0)


def summary(result: tlc.TlcResult, expected: dict[str, str] | None = None) -> str:
    """The text report of a TLC result: statistics, one line per checked property, counterexamples."""
    runs = f", {result.runs} TLC runs" if result.runs > 1 else ""
    workers = f", {result.workers} workers" if result.workers and result.workers.isdigit() else (
        f", {result.workers}" if result.workers else "")
    scen = f" ({', '.join(result.scenarios)})" if result.scenarios else ""
    lines = [f"{result.preset} [TLC]: {result.distinct_states:,} distinct states, "
             f"{result.generated_states:,} generated, depth {result.depth}, {result.seconds:.1f}s"
             f"{workers}{runs}{scen}"]
    if not result.finished:
        lines.append(f"  TLC did not finish ({result.status}): these numbers are what it had reached")
    elif not result.complete:
        lines.append("  the state graph was not explored completely")
    for name, verdict in result.properties.items():
        if verdict == NOT_CHECKED and expected is not None and name not in expected:
            continue
        want = (expected or {}).get(name)
        note = "" if want in (None, verdict) else f"   (expected: {want})"
        lines.append(f"  {name:<28} {verdict}{note}")
    for note in result.notes:
        lines.append(f"  note: {note}")
    for name, trace in result.counterexamples.items():
        lines.append(f"\ncounterexample for {name} ({max(len(trace) - 1, 0)} steps):")
        for i, st in enumerate(trace):
            args = ", ".join(f"{k}={tlc.format_tla_value(v)}" for k, v in st["args"].items())
            loop = f"   (back to state {st['back_to']})" if "back_to" in st else ""
            lines.append(f"  {i:3}. {st['action']}({args}){loop}")
        if not trace:
            lines.append("  (no behaviour: TLC found this before computing any state, e.g. a false ASSUME)")
        else:
            lines.append("  final state:")
            for var, val in trace[-1]["state"].items():
                text = tlc.format_tla_value(val) if not isinstance(val, str) or var != "_unparsed" else val
                lines.append(f"    {var} = {text if len(text) <= 200 else text[:197] + '...'}")
    return "\n".join(lines)


def _report(result: tlc.TlcResult, as_json: bool, prog: str, expected=None) -> int:
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(summary(result, expected))
    if not result.finished:
        print(f"{prog}: TLC did not finish: {result.message}", file=sys.stderr)
    return result.exit_status()


def cmd_check(args) -> int:
    from ..model.presets import preset
    p = preset(args.preset)
    if args.engine == "explorer":
        used = [opt for opt, val in (("--jar", args.jar), ("--java", args.java), ("--workers", args.workers),
                                     ("--heap", args.heap), ("--timeout", args.timeout),
                                     ("--distributed", args.distributed), ("--tla-dir", args.tla_dir)) if val]
        if used:
            raise MembarrierSpecError(f"{', '.join(used)} only apply to --engine tlc")
        from .explore import run_and_print
        return run_and_print(p, p.config, as_json=args.json, quiet=args.quiet, checked=p.checked)
    from ..check.results import ResultStore
    store = ResultStore()
    key = tlc_presets.result_key(p.name, args.tla_dir, args.jar)
    stored = None if args.fresh or args.timeout else store.load_output(p.name, "tlc", key)
    if stored is not None:  # the same preset, model, spec files and jar: TLC's answer cannot have changed
        print(f"{p.name}: reused the stored TLC result from {store.root} (--fresh runs TLC again)", file=sys.stderr)
        print(stored["json" if args.json else "text"])
        return stored["status"]
    progress = ProgressLine(p.name, enabled=not args.quiet)
    try:  # SIGTERM and SIGHUP unwind through here as Terminated (cli.main)
        result = tlc_presets.check_preset(p.name, tla_dir=args.tla_dir, on_progress=progress,
                                          on_run=_on_run(progress), **_run_kw(args))
    finally:
        progress.end()
    status = _report(result, args.json, "membarrier-spec", p.expected)
    if result.finished and not args.distributed:
        store.save_output(p.name, "tlc", key, {"json": json.dumps(result.to_json(), indent=2),
                                                "text": summary(result, p.expected), "status": status})
    return status


# ---------------------------------------------------------------------------------------------------------
# tlc-run

def build_tlc_run_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tlc-run", description=(
        "Run TLC on a preset's generated module (tlc-run PRESET) or on any spec (tlc-run path/Spec.tla), "
        "with live progress on stderr and a summary.  Exit 0: all properties hold; 1: a violation; "
        "2: bad input (incl. no Java/jar, TLC parse errors); 3: TLC did not finish; 130: interrupted."))
    parser.add_argument("target", metavar="PRESET|SPEC.tla", help="a preset name or a path to a .tla file")
    parser.add_argument("--config", type=Path, help="the .cfg for a SPEC.tla (default: next to it, same name)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--no-deadlock", action="store_true", help="do not check for deadlock (TLC -deadlock)")
    _tlc_options(parser)
    return parser


def tlc_run(argv: list[str] | None = None) -> int:
    args = build_tlc_run_parser().parse_args(argv)
    target = args.target
    is_spec = target.endswith(".tla") or "/" in target or Path(target).is_file()
    kw = _run_kw(args)
    if args.no_deadlock:
        kw["check_deadlock"] = False
    if is_spec:
        spec = Path(target)  # tlc.check_spec refuses a missing or non-.tla spec, or a missing cfg
        if args.tla_dir:
            raise MembarrierSpecError("--tla-dir applies to a PRESET, not to a .tla file")
        progress = ProgressLine(spec.stem, enabled=not args.quiet)
        expected = None
        run = lambda: tlc.check_spec(spec, args.config, on_progress=progress,  # noqa: E731
                                     on_run=_on_run(progress), **kw)
    else:
        from ..model.presets import preset
        p = preset(target)
        if args.config:
            raise MembarrierSpecError("--config applies to a SPEC.tla; a preset uses tla/MC_<preset>.cfg")
        progress = ProgressLine(p.name, enabled=not args.quiet)
        expected = p.expected
        run = lambda: tlc_presets.check_preset(p.name, tla_dir=args.tla_dir, on_progress=progress,  # noqa: E731
                                       on_run=_on_run(progress), **kw)
    try:
        result = run()
    finally:
        progress.end()
    return _report(result, args.json, "tlc-run", expected)


def tlc_run_main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tlc-run`` console script: errors are one message, never a traceback."""
    try:
        with signals_unwind():
            status = tlc_run(argv)
    except MembarrierSpecError as exc:
        print(f"tlc-run: error: {exc}", file=sys.stderr)
        status = EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("tlc-run: interrupted; TLC was stopped and its temporary files removed", file=sys.stderr)
        status = EXIT_INTERRUPTED
    except Terminated:
        print("tlc-run: terminated; TLC was stopped and its temporary files removed", file=sys.stderr)
        status = EXIT_TERMINATED
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(tlc_run_main())
