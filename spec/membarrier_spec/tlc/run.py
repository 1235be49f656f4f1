"""One TLC run: a temporary directory, the Java process (and distributed workers), output parsing,
cleanup on every way out."""

from __future__ import annotations

import atexit
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
from pathlib import Path
from typing import Callable, Iterable

import attrs

from ..errors import MembarrierSpecError
from ..model.properties import HOLDS, NOT_CHECKED, VIOLATED
from .common import (CONFIG_ERROR_CODES, DEFAULT_PROGRESS_INTERVAL, EXIT_CONFIG, EXIT_PARSE, MSG_ACTION_PROPERTY,
                     MSG_ASSUMPTION_FALSE, MSG_BACK_TO, MSG_BEHAVIOR, MSG_COUNTEREXAMPLE, MSG_DEADLOCK, MSG_DEPTH,
                     MSG_INIT_DONE, MSG_INIT_START, MSG_INVARIANT, MSG_INVARIANT_INIT, MSG_MODE, MSG_OOM,
                     MSG_OOM_INIT, MSG_OOM_LIVENESS, MSG_PARSE_FAILED, MSG_PARSE_FAILED2, MSG_PROGRESS,
                     MSG_PROPERTY_INIT, MSG_SERVER_READY, MSG_STATE, MSG_STATE1, MSG_STATS, MSG_STUTTER, MSG_SUCCESS,
                     MSG_TEMPORAL, MSG_TEMPORAL_START, MSG_VERSION, OOM_TEXT, TlcSetupError, TlcSpecError)
from .install import find_jar, find_java
from .messages import TlcMessage, ToolOutputParser
from .results import STATS_LINE, TlcProgress, TlcResult, parse_progress, tlc_int
from .specfiles import (cfg_names, module_dependencies, operator_parameters, quoted_line, rewrite_cfg, sany_error,
                        source_line, unframed_tail)
from .values import TlaValueError, parse_tla_state, parse_tla_value

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


class Collector:
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
            self.initial = tlc_int(m.group(1)) if m else 0
        elif code == MSG_PROGRESS:
            p = parse_progress(text, time.monotonic() - self.start)
            if p:
                self.progress = p
                return p
        elif code == MSG_STATS:
            m = STATS_LINE.search(text)
            if m:
                self.stats = (tlc_int(m.group(1)), tlc_int(m.group(2)), tlc_int(m.group(3)))
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
            if OOM_TEXT.search(text):
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


def spec_and_cfg(spec, cfg) -> tuple[Path, Path]:
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
    spec, cfg = spec_and_cfg(spec, cfg)
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
    collector = Collector(params, start)
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
    src = source_line(spec_dir, m.group(5), int(m.group(1)))
    return message + (quoted_line(int(m.group(1)), src) if src is not None else "")


def _result(c: Collector, unframed: list[str], spec: Path, name: str, invs: list[str], props: list[str],
            seconds: float, exit_code: int | None, timed_out: bool, timeout: float | None, *, workers: str,
            distributed: bool) -> TlcResult:
    out_text = "\n".join(unframed)
    if not c.version:
        c.version = next((ln.strip() for ln in unframed if ln.startswith("TLC2 ")), "")
    if not timed_out:
        if c.parse_failed or exit_code == EXIT_PARSE:
            raise TlcSpecError(sany_error(unframed, spec))
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
            if not (c.oom or OOM_TEXT.search(out_text)):
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
    oom = c.oom or (not c.success and bool(OOM_TEXT.search(out_text)))
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
                   f"state(s): {_error_text(c.errors) or unframed_tail(unframed, 500, 'no message')}")
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
            what = unframed_tail(unframed, 500, "no message")
        message = f"TLC failed (exit status {exit_code}): {what}"
    notes = []
    if distributed and props and not c.temporal_checked and status == "ok":
        notes.append("distributed TLC does not check temporal properties: " + ", ".join(props) + " not checked")
    return TlcResult(preset=name, distinct_states=distinct, generated_states=generated, depth=depth,
                     seconds=seconds, properties=verdicts, counterexamples=cex, complete=complete, status=status,
                     message=message, queue=queue_len, initial_states=c.initial, workers=workers,
                     tlc_version=c.version, exit_code=exit_code, assumptions_held=c.reached_init,
                     notes=tuple(notes))
