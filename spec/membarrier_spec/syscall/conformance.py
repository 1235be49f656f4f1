"""Differential conformance: the model against the live kernel, on random operation sequences.

An operation (:class:`Op`) is what both backends understand: ``spawn_process``,
``clone_thread``, ``fork``, ``exec``, ``exit`` or ``membarrier``.  :func:`apply`
runs one on a backend (:class:`~membarrier_spec.System` or
:class:`~membarrier_spec.syscall.kernel.LiveSystem`) and :func:`compare` runs it on
both and keeps what each answered.  ``membarrier-spec conformance`` draws
sequences from a seed (:func:`random_op`) and the Hypothesis test in
``tests/test_conformance_live.py`` draws them with strategies built from the
same value pools; both stop a sequence at its first mismatch.

After every operation both backends are probed (:data:`PROBE_CMDS` from every
live task: GET_REGISTRATIONS and the three private expedited commands, none of
which changes any state), so a state that diverged shows at the step that
caused it, not only when a later command happens to read it.

Allocation failures are never injected: the kernel offers no way to.
"""

from __future__ import annotations

import os
import random
import sys
import time
from typing import Protocol

import attrs

from ..abi import Cmd, c_int, cmd_name, ret_name
from ..errors import MembarrierSpecError
from ..model.config import Config
from .kernel import LiveKernelError, LiveSystem, live_config, live_unavailable_reason
from .system import System

KINDS = ("spawn_process", "clone_thread", "fork", "exec", "exit", "membarrier")
CREATES = ("spawn_process", "clone_thread", "fork")  # these return a new task id
MAX_PROCESSES = 4  # live processes at once
MAX_THREADS = 3  # live threads per process

# Value pools shared by the random generator and the Hypothesis strategies.
VALID_CMDS: tuple[int, ...] = tuple(int(c) for c in sorted(Cmd.__members__.values()))
RSEQ = int(Cmd.PRIVATE_EXPEDITED_RSEQ)
ODD_FLAGS: tuple[int, ...] = (1, 2, 3, 0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 32) + 1, -1)
CPU_IDS: tuple[int, ...] = (0, 1, 2, 3, 63, 64, 9999, -1, -5, -(1 << 31), (1 << 31) - 1, (1 << 32) + 1)


class Backend(Protocol):
    def spawn_process(self) -> int: ...
    def clone_thread(self, tid: int) -> int: ...
    def fork(self, tid: int) -> int: ...
    def exec(self, tid: int) -> None: ...
    def exit(self, tid: int) -> None: ...
    def membarrier(self, tid: int, cmd: int, flags: int = 0, cpu_id: int = 0) -> int: ...
    def alive_tasks(self) -> list[int]: ...


@attrs.frozen
class Op:
    """One operation on a backend; ``tid`` is the acting task (none for spawn_process)."""

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    tid: int | None = None
    cmd: int = 0
    flags: int = 0
    cpu_id: int = 0

    def __str__(self) -> str:
        if self.kind == "spawn_process":
            return "spawn_process()"
        if self.kind != "membarrier":
            return f"{self.kind}(t{self.tid})"
        return f"membarrier(t{self.tid}, {cmd_text(self.cmd)}, flags={num_text(self.flags)}, " \
               f"cpu_id={num_text(self.cpu_id)})"


def cmd_text(cmd: int) -> str:
    """``PRIVATE_EXPEDITED`` for a command, else the number (hex when it is large)."""
    name = cmd_name(cmd)
    return num_text(cmd) if name == str(cmd) else name


def num_text(value: int) -> str:
    if -10 < value < 10:
        return str(value)
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


@attrs.frozen
class Outcome:
    """What one operation gave: a value (new task id or return value), None, or an error."""

    value: int | None = None
    error: str | None = None

    def text(self, op: Op) -> str:
        if self.error is not None:
            return self.error
        if op.kind in CREATES:
            return f"t{self.value}"
        if op.kind == "membarrier":
            return ret_name(self.value)
        return "done"


def apply(system: Backend, op: Op) -> Outcome:
    """Run ``op`` on ``system``; a bad task id is an outcome (both backends must refuse it alike)."""
    try:
        if op.kind == "spawn_process":
            return Outcome(system.spawn_process())
        if op.kind == "clone_thread":
            return Outcome(system.clone_thread(op.tid))
        if op.kind == "fork":
            return Outcome(system.fork(op.tid))
        if op.kind == "exec":
            system.exec(op.tid)
            return Outcome()
        if op.kind == "exit":
            system.exit(op.tid)
            return Outcome()
        return Outcome(system.membarrier(op.tid, op.cmd, op.flags, op.cpu_id))
    except MembarrierSpecError as exc:
        return Outcome(error=f"{type(exc).__name__}: {exc}")


# Read-only calls made from every live task after each operation: together they show the
# mm's registration state (GET_REGISTRATIONS) and its READY bits (-EPERM or not).
PROBE_CMDS: tuple[int, ...] = (Cmd.GET_REGISTRATIONS, Cmd.PRIVATE_EXPEDITED, Cmd.PRIVATE_EXPEDITED_SYNC_CORE,
                               Cmd.PRIVATE_EXPEDITED_RSEQ)

Probe = tuple[tuple[int, int, int], ...]  # (task id, cmd, return value)


def probe(system: Backend) -> Probe:
    """PROBE_CMDS from every live task (none of them changes either backend's state)."""
    return tuple((tid, cmd, system.membarrier(tid, cmd)) for tid in system.alive_tasks() for cmd in PROBE_CMDS)


def probe_diff(model: Probe, kernel: Probe) -> str:
    """``t2 PRIVATE_EXPEDITED: model 0, kernel -EPERM; ...`` or the differing live task lists."""
    m = {(tid, cmd): ret for tid, cmd, ret in model}
    k = {(tid, cmd): ret for tid, cmd, ret in kernel}
    if m.keys() != k.keys():
        return (f"live tasks differ: model {sorted({tid for tid, _ in m})}, "
                f"kernel {sorted({tid for tid, _ in k})}")
    return "; ".join(f"t{tid} {cmd_name(cmd)}: model {ret_name(m[tid, cmd])}, kernel {ret_name(k[tid, cmd])}"
                     for tid, cmd in m if m[tid, cmd] != k[tid, cmd])


@attrs.frozen
class Step:
    """One operation run on both backends: each one's answer, then each one's probe."""

    op: Op
    model: Outcome
    kernel: Outcome
    model_after: Probe
    kernel_after: Probe

    @property
    def ok(self) -> bool:
        return self.model == self.kernel and self.model_after == self.kernel_after

    def line(self) -> str:
        """``t1 = fork(t0)``, ``membarrier(...) -> 0``, or ``... -> model X, kernel Y``."""
        if self.model != self.kernel:
            return f"{self.op} -> model {self.model.text(self.op)}, kernel {self.kernel.text(self.op)}"
        if self.model_after != self.kernel_after:
            return f"{self.line_ok()}; then probes differ: {probe_diff(self.model_after, self.kernel_after)}"
        return self.line_ok()

    def line_ok(self) -> str:
        if self.model.error is not None or self.op.kind == "membarrier":
            return f"{self.op} -> {self.model.text(self.op)}"
        if self.op.kind in CREATES:
            return f"t{self.model.value} = {self.op}"
        return str(self.op)


def compare(model: System, live: Backend, op: Op) -> Step:
    """Run ``op`` on both backends, then probe both; a failing worker shows as the kernel's outcome."""
    expected = apply(model, op)
    try:
        got = apply(live, op)
        live_after = probe(live)
    except LiveKernelError as exc:
        got, live_after = Outcome(error=f"LiveKernelError: {exc}"), ()
    return Step(op, expected, got, probe(model), live_after)


# --------------------------------------------------------------------------- random sequences


def processes(model: System) -> dict[int, list[int]]:
    """The model's live tasks grouped by thread group."""
    groups: dict[int, list[int]] = {}
    for tid in model.alive_tasks():
        groups.setdefault(model.state.tasks[tid].tgid, []).append(tid)
    return groups


def can_add_process(model: System) -> bool:
    return len(processes(model)) < MAX_PROCESSES


def threads_with_room(model: System) -> list[int]:
    """Tasks whose process may get another thread."""
    return [t for group in processes(model).values() if len(group) < MAX_THREADS for t in group]


def dead_task_ids(model: System) -> list[int]:
    """Exited ids and a few never-assigned ones: both backends must raise TaskError on them."""
    n = len(model.state.tasks)
    return [i for i in range(n) if i not in model.alive_tasks()] + [n, n + 7, -1]


def random_cmd(rng: random.Random) -> int:
    if rng.random() < 0.8:
        return rng.choice(VALID_CMDS)
    kind = rng.randrange(5)
    if kind == 0:
        return rng.getrandbits(32)  # random bits
    if kind == 1:
        return 1 << rng.randrange(10, 32)  # one unknown bit
    if kind == 2:
        a, b = rng.sample(range(10), 2)  # two known bits at once
        return (1 << a) | (1 << b)
    if kind == 3:
        return -rng.randrange(1, (1 << 31) + 1)  # negative
    return rng.choice(VALID_CMDS) + (rng.randrange(1, 1 << 16) << 32)  # > 2**32: wraps to a command


def random_flags(rng: random.Random, cmd: int) -> int:
    r = rng.random()
    if c_int(cmd) == RSEQ and r < 0.5:
        return 1  # FLAG_CPU, the one place it is valid
    if r < 0.8:
        return 0
    return rng.getrandbits(32) if r > 0.95 else rng.choice(ODD_FLAGS)


def random_cpu_id(rng: random.Random) -> int:
    if rng.random() < 0.4:
        return 0
    return rng.randrange(-(1 << 31), 1 << 31) if rng.random() < 0.1 else rng.choice(CPU_IDS)


def random_op(rng: random.Random, model: System) -> Op:
    """An operation that keeps the live processes within MAX_PROCESSES x MAX_THREADS."""
    alive = model.alive_tasks()
    if not alive:
        return Op("spawn_process")
    weights = {"membarrier": 60, "clone_thread": 8 if threads_with_room(model) else 0,
               "fork": 8 if can_add_process(model) else 0, "exec": 4, "exit": 6,
               "spawn_process": 3 if can_add_process(model) else 0, "bad_tid": 2}
    kind = rng.choices(list(weights), list(weights.values()))[0]
    if kind == "spawn_process":
        return Op(kind)
    if kind == "bad_tid":
        tid = rng.choice(dead_task_ids(model))
        kind = rng.choice(["membarrier", "clone_thread", "fork", "exec", "exit"])
        return Op(kind, tid)  # membarrier: QUERY
    tid = rng.choice(threads_with_room(model) if kind == "clone_thread" else alive)
    if kind != "membarrier":
        return Op(kind, tid)
    cmd = random_cmd(rng)
    return Op(kind, tid, cmd, random_flags(rng, cmd), random_cpu_id(rng))


@attrs.frozen
class SequenceResult:
    index: int
    steps: tuple[Step, ...]

    @property
    def mismatch(self) -> bool:
        return bool(self.steps) and not self.steps[-1].ok


def run_sequence(index: int, seed: int, steps: int, config: Config, timeout: float | None = None) -> SequenceResult:
    """Sequence ``index`` of ``seed``: ``steps`` operations, stopping at the first mismatch."""
    rng = random.Random(f"{seed}:{index}")
    model = System(config=config)
    done: list[Step] = []
    with LiveSystem(**({"timeout": timeout} if timeout else {})) as live:
        op = Op("spawn_process")
        for _ in range(steps):
            step = compare(model, live, op)
            done.append(step)
            if not step.ok:
                break
            op = random_op(rng, model)
    return SequenceResult(index, tuple(done))


def format_mismatch(result: SequenceResult, seed: int) -> str:
    lines = [f"mismatch in sequence {result.index} (seed {seed}):"]
    lines += [f"  {step.line()}" for step in result.steps]
    return "\n".join(lines)


def run_cli(sequences: int, seed: int, steps: int) -> int:
    """``membarrier-spec conformance``: 0 without mismatches, 1 with, 2 without a live kernel."""
    reason = live_unavailable_reason()
    if reason is not None:
        print(f"membarrier-spec conformance: cannot compare with the live kernel: {reason}", file=sys.stderr)
        return 2
    config = live_config()
    print(f"conformance: Linux {os.uname().release} {os.uname().machine}; model Config(online_cpus="
          f"{config.online_cpus}, nohz_full={config.nohz_full}, arch_sync_core={config.arch_sync_core}, "
          f"rseq={config.rseq})", file=sys.stderr)
    start = last_report = time.monotonic()
    calls, probes, mismatches = 0, 0, []
    for index in range(sequences):
        result = run_sequence(index, seed, steps, config)
        calls += len(result.steps)
        probes += sum(len(step.kernel_after) for step in result.steps)
        if result.mismatch:
            mismatches.append(result)
        now = time.monotonic()
        if now - last_report >= 2.0:
            last_report = now
            print(f"conformance: {index + 1}/{sequences} sequences, {calls} calls, {len(mismatches)} mismatches, "
                  f"{now - start:.1f} s", file=sys.stderr)
    print(f"compared {sequences} sequences, {calls} calls: {len(mismatches)} mismatches")
    for result in mismatches:
        print()
        print(format_mismatch(result, seed))
    print(f"conformance: {time.monotonic() - start:.1f} s, plus {probes} probe calls on each side", file=sys.stderr)
    return 1 if mismatches else 0
