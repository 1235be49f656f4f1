"""Running a probe scenario on the live kernel, and judging whether a sample is clean.

The worker (``data/probe_worker.c``) is compiled once into the user's cache
(its name carries a hash of its source) and runs each script in a process
group of its own, which is killed on every way out of :func:`run_script`;
its children also die with it (``PR_SET_PDEATHSIG``), so no process is left
behind.  The Python side sleeps while the worker runs, so it disturbs no CPU.

A sample is *disturbed* when something besides the script changed the
scheduler state of a watched CPU: a user task outside the probe ran there
(or a task started and ended unseen), a blocked script thread ran, or a
spinning one was switched in again while the model says that a kernel
thread preempting it could change a prediction
(:attr:`~membarrier_spec.syscall.probe.Prediction.preemption_safe`).  Disturbed
samples are retried; a scenario whose samples stay disturbed is reported as
such, never judged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import attrs

from ..errors import MembarrierSpecError
from .probe import Scenario

WORKER_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "probe_worker.c")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "membarrier-spec")
WORKER_TIMEOUT = 150.0  # seconds; the worker stops itself after 120

# A measure step's share of calls that interrupted the watched CPU: at most NONE is "none" (stray
# function-call IPIs from elsewhere stay far below it), at least ALL is "all", anything between is "partial".
# ALL is low because the CAL row undercounts: on this project's 2-CPU virtual machines a thread spinning on
# CPU 1 for 99% of a measure step saw its CPU's CAL count rise by only 50-100% of the calls, while a CPU the
# kernel skips gets 0 or 1 in 10,000.  The question the probe asks is the model's: is the CPU a target at all.
ALL, NONE = 0.3, 0.05
# A thread spinning on the watched CPU must have run for at least this share of a measure step's wall time.
# Less means something else held the CPU for a while, which "others" can miss: a user task that migrated to the
# watched CPU and away again between two scans shows neither CPU there.
# The kernel adds a running task's time to its schedstat only at ticks and switches, so up to a tick (10 ms at
# HZ=100) of it may be missing: the rule judges only steps of at least SHARE_MIN_WALL_US, where a missing tick is
# at most 20% of the step (a short step, as when no IPI is sent, may show no time at all).
SPIN_SHARE = 0.8
SHARE_MIN_WALL_US = 50_000


class ProbeUnavailable(Exception):
    """The probe cannot run on this machine; ``str()`` says why in one line."""


def unavailable_reason(cpus_needed: int = 2) -> str | None:
    """Why the probe cannot run here, or None."""
    if sys.platform != "linux":
        return f"not Linux (sys.platform is {sys.platform!r})"
    online = os.sysconf("SC_NPROCESSORS_ONLN")
    if online < cpus_needed:
        return f"{online} CPU(s) online; the probe's scenarios need {cpus_needed}"
    try:
        with open("/proc/interrupts") as f:
            if not any(line.split()[:1] == ["CAL:"] for line in f):
                return "/proc/interrupts has no CAL row (function-call IPIs are not counted on this architecture)"
    except OSError as exc:
        return f"cannot read /proc/interrupts: {exc.strerror}"
    from .kernel import live_unavailable_reason
    reason = live_unavailable_reason()
    if reason is not None:
        return reason
    if _compiler() is None and not os.path.exists(worker_path()):
        return "no C compiler (cc or gcc) to build the probe worker"
    return None


def _compiler() -> str | None:
    for cc in ("cc", "gcc", "clang"):
        path = shutil.which(cc)
        if path:
            return path
    return None


def worker_path() -> str:
    with open(WORKER_SOURCE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return os.path.join(CACHE, f"probe_worker-{digest}")


def build_worker() -> str:
    """The compiled worker, built on first use (atomically: a failed build leaves nothing behind)."""
    path = worker_path()
    if os.path.exists(path):
        return path
    cc = _compiler()
    if cc is None:
        raise ProbeUnavailable("no C compiler (cc or gcc) to build the probe worker")
    os.makedirs(CACHE, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".probe_worker-", dir=CACHE)
    os.close(fd)
    try:
        done = subprocess.run([cc, "-O2", "-pthread", "-o", tmp, WORKER_SOURCE], capture_output=True, text=True)
        if done.returncode != 0:
            raise ProbeUnavailable(f"cannot build the probe worker: {done.stderr.strip().splitlines()[-1:]}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def script_text(scenario: Scenario, count: int) -> str:
    """The worker's script for ``scenario``; ``measure`` steps call ``count`` times."""
    lines = [f"# membarrier-spec probe: {scenario.name}"]
    lines += [f"thread {t.name} {t.process} {t.cpu}" for t in scenario.threads]
    lines.append(f"watch {scenario.watch}")
    for st in scenario.steps:
        if st.op == "call":
            lines.append(f"call {st.thread} {st.cmd}")
        elif st.op == "measure":
            lines.append(f"measure {st.thread} {st.cmd} {count}")
        else:
            lines.append(f"{st.op} {st.thread}")
    return "\n".join(lines) + "\n"


def run_script(scenario: Scenario, count: int) -> dict:
    """Run ``scenario`` once on the kernel; the worker's JSON (``{"steps": [...]}``)."""
    worker = build_worker()
    with tempfile.TemporaryDirectory(prefix="membarrier-probe-") as tmp:
        path = os.path.join(tmp, "script")
        with open(path, "w") as f:
            f.write(script_text(scenario, count))
        proc = subprocess.Popen([worker, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=WORKER_TIMEOUT)
        finally:
            _kill_group(proc)
    try:
        data = json.loads(out)
    except ValueError:
        raise MembarrierSpecError(f"probe worker exited {proc.returncode} without a result: "
                                  f"{(err or out).strip()[:200]}") from None
    if "error" in data:
        raise MembarrierSpecError(f"probe worker, scenario {scenario.name}: {data['error']}")
    return data


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass


# --- judging a sample ---------------------------------------------------------------------------------------

@attrs.frozen
class Observation:
    """What one clean run showed: per step, the return value and (measure steps) the IPI class."""

    returns: tuple[int | None, ...]
    ipis: tuple[str | None, ...]   # "all" | "none" | "partial" per measure step, else None
    counts: tuple[int | None, ...]  # CAL delta on the watched CPU per measure step


def disturbance(scenario: Scenario, data: dict, preemption_safe: bool = False) -> str | None:
    """Why this sample does not show the script alone on the watched CPU, or None when it is clean.

    With ``preemption_safe``, a spinning thread may have been switched out and in again: nothing but a
    kernel thread can have preempted it, as any user task on the CPU shows in ``others``.
    """
    steps = data["steps"]
    running: set[str] = set()
    for st, got in zip(scenario.steps, steps):
        if got["others"]:
            return f"step '{st}': other tasks ran on CPU {scenario.watch}: {', '.join(got['others'][:3])}"
        for t in scenario.threads:
            delta = got["switches"].get(t.name, -1)
            if t.cpu != scenario.watch or delta < 0:
                continue
            if t.name == st.thread and st.op == "spin":
                expected = 1
            elif t.name == st.thread and st.op in ("call", "measure", "exit"):
                continue  # a call may sleep (synchronize_rcu): its own switches are its business
            else:
                expected = 0
            # a spinning thread may have been preempted by a kernel thread; one told to block spun until it read
            # the command
            if preemption_safe and delta >= expected and (
                    t.name in running or (t.name == st.thread and st.op in ("spin", "block"))):
                continue
            if delta != expected:
                state = "spinning" if t.name in running else "blocked"
                return (f"step '{st}': thread {t.name} ({state} on CPU {t.cpu}) was switched in {delta} "
                        f"time(s), expected {expected}")
        if st.op == "measure":
            wall = got.get("wall_us", 0)
            for t in scenario.threads:
                ran = got.get("runtime_us", {}).get(t.name, -1)
                judged = t.name in running and t.cpu == scenario.watch and wall >= SHARE_MIN_WALL_US
                if judged and 0 <= ran < SPIN_SHARE * wall:
                    return (f"step '{st}': thread {t.name} (spinning on CPU {t.cpu}) ran {ran / wall:.0%} of the "
                            f"{wall / 1e6:.2f} s step, less than {SPIN_SHARE:.0%}")
        if st.op == "spin":
            running.add(st.thread)
        elif st.op in ("block", "exit"):
            running.discard(st.thread)
    if len(steps) != len(scenario.steps):
        return f"the worker reported {len(steps)} steps for {len(scenario.steps)}"
    return None


def observe(scenario: Scenario, data: dict, count: int) -> Observation:
    returns, ipis, counts = [], [], []
    for st, got in zip(scenario.steps, data["steps"]):
        returns.append(got["ret"] if st.op in ("call", "measure") else None)
        if st.op == "measure":
            n = got["cal"][scenario.watch]
            share = n / count
            ipis.append("all" if share >= ALL else "none" if share <= NONE else "partial")
            counts.append(n)
        else:
            ipis.append(None)
            counts.append(None)
    return Observation(tuple(returns), tuple(ipis), tuple(counts))
