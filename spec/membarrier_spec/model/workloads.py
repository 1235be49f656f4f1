"""Workloads: the litmus programs each task runs, and where tasks may run.

A workload (scenario) is a set of tasks, each with a straight-line program of
user operations, the mm it belongs to, the CPUs it may run on and where it
starts, plus the forbidden outcome.  Programs are built from:

``store x v``, ``load x -> rN``, ``barrier()`` (a compiler barrier: orders
nothing in hardware), ``smp_mb()``, ``membarrier(cmd) -> rN``,
``modify_code`` (rewrite the instruction stream, JIT-style),
``execute_code`` (run the code), ``exit``, and, for a kernel thread,
``kthread_use_mm(mm)`` and ``kthread_unuse_mm()``.

Every CPU also has its idle task (a kernel thread pinned to it), so every
scheduler path through a lazy mm is reachable.  A scenario is a function of
the Config, because the 2017 designs of BoF 2017 had no registration step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import attrs

from ..abi import Cmd

if TYPE_CHECKING:  # a scenario is a function of the Config, which validates scenario names against this module
    from .config import Config

X, Y = 0, 1
VAR_NAMES = ("x", "y")
USER_VARS = len(VAR_NAMES)


@attrs.frozen
class Op:
    """One user-mode operation of a litmus program."""

    kind: str  # store | load | barrier | smp_mb | membarrier | modify_code | execute_code | exit
    #            | kthread_use_mm | kthread_unuse_mm
    var: int = -1
    value: int = 0
    reg: int = -1
    cmd: int = 0
    mm: str = ""  # kthread_use_mm: the mm it takes

    def __str__(self) -> str:
        if self.kind == "store":
            return f"{VAR_NAMES[self.var]} = {self.value}"
        if self.kind == "load":
            return f"r{self.reg} = {VAR_NAMES[self.var]}"
        if self.kind == "membarrier":
            return f"r{self.reg} = membarrier({Cmd(self.cmd).name})"
        if self.kind in ("barrier", "smp_mb", "kthread_unuse_mm"):
            return f"{self.kind}()"
        if self.kind == "kthread_use_mm":
            return f"kthread_use_mm({self.mm})"
        return self.kind


def store(var: int, value: int) -> Op:
    return Op("store", var=var, value=value)


def load(var: int, reg: int) -> Op:
    return Op("load", var=var, reg=reg)


def membarrier(cmd: Cmd, reg: int) -> Op:
    return Op("membarrier", cmd=int(cmd), reg=reg)


def kthread_use_mm(mm: str) -> Op:
    return Op("kthread_use_mm", mm=mm)


KTHREAD_UNUSE_MM = Op("kthread_unuse_mm")
BARRIER = Op("barrier")
MODIFY_CODE = Op("modify_code")
EXECUTE_CODE = Op("execute_code")
EXIT = Op("exit")

PINNED0 = "cpu0"     # runs only on CPU 0
OTHERS = "others"    # runs on any CPU but CPU 0
ANY = "any"          # runs on any CPU
NOWHERE = "nowhere"  # never scheduled (holds an mm user only)


@attrs.frozen
class TaskSpec:
    """A task of a workload.  ``mm`` None is a kernel thread."""

    name: str
    mm: str | None
    program: tuple[Op, ...] = ()
    cpus: str = OTHERS
    start_cpu: int | None = None
    preemptible: bool = True  # may be switched out before its program ends

    @property
    def steps(self) -> tuple[Op, ...]:
        """The executable program: compiler barriers order nothing in hardware, so they take no step."""
        return tuple(op for op in self.program if op.kind != "barrier")

    def may_run_on(self, cpu: int) -> bool:
        if self.cpus.startswith("cpu"):  # pinned to one CPU: "cpu0" (PINNED0), "cpu1", ...
            return cpu == int(self.cpus[3:])
        return {OTHERS: cpu != 0, ANY: True, NOWHERE: False}[self.cpus]

    @property
    def regs(self) -> int:
        return 1 + max((op.reg for op in self.program), default=-1)


@attrs.frozen
class Workload:
    """A scenario: its tasks, its forbidden outcome (task, register, value) and a one-line story."""

    name: str
    story: str
    tasks: tuple[TaskSpec, ...]
    forbidden: tuple[tuple[str, int, int], ...] = ()
    source: str = ""

    @property
    def mms(self) -> tuple[str, ...]:
        seen: list[str] = []
        for t in self.tasks:
            if t.mm is not None and t.mm not in seen:
                seen.append(t.mm)
        return tuple(seen)


def _register(config: Config, cmd: Cmd, reg: int) -> tuple[Op, ...]:
    return (membarrier(cmd, reg),) if config.require_registration else ()


def sb_private(config: Config) -> Workload:
    return Workload(
        "sb_private",
        "SB through PRIVATE_EXPEDITED: T1 may switch in on another CPU concurrently (BoF 2017 scenario 1, "
        "kernel scenario A)",
        (TaskSpec("T0", "A", _register(config, Cmd.REGISTER_PRIVATE_EXPEDITED, 2)
                  + (store(X, 1), membarrier(Cmd.PRIVATE_EXPEDITED, 1), load(Y, 0)),
                  cpus=PINNED0, start_cpu=0, preemptible=False),
         TaskSpec("T1", "A", (store(Y, 1), BARRIER, load(X, 0))),
         TaskSpec("P", "B", (), start_cpu=1)),
        forbidden=(("T0", 0, 0), ("T1", 0, 0), ("T0", 1, 0)),
        source="kernel/sched/membarrier.c scenario A; BoF 2017 scenario 1")


def mp_private(config: Config) -> Workload:
    return Workload(
        "mp_private",
        "MP through PRIVATE_EXPEDITED: T1 may switch out concurrently (BoF 2017 scenario 2, kernel scenario B)",
        (TaskSpec("T0", "A", _register(config, Cmd.REGISTER_PRIVATE_EXPEDITED, 3)
                  + (load(Y, 0), membarrier(Cmd.PRIVATE_EXPEDITED, 1), load(X, 2)),
                  cpus=PINNED0, start_cpu=0, preemptible=False),
         TaskSpec("T1", "A", (store(X, 1), BARRIER, store(Y, 1)), start_cpu=1),
         TaskSpec("P", "B", ())),
        forbidden=(("T0", 0, 1), ("T0", 2, 0), ("T0", 1, 0)),
        source="kernel/sched/membarrier.c scenario B; BoF 2017 scenario 2")


def jit_sync_core(config: Config) -> Workload:
    return Workload(
        "jit_sync_core",
        "JIT: T0 rewrites code and calls PRIVATE_EXPEDITED_SYNC_CORE; T1 runs the code on any CPU, "
        "through lazy-mm switches (sync-core RFC 2017)",
        (TaskSpec("T0", "A", (membarrier(Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 1), MODIFY_CODE,
                              membarrier(Cmd.PRIVATE_EXPEDITED_SYNC_CORE, 0)),
                  cpus=PINNED0, start_cpu=0, preemptible=False),
         TaskSpec("T1", "A", (EXECUTE_CODE,), cpus=ANY, start_cpu=1)),
        source="Mathieu Desnoyers, sync-core RFC, 2017 (sysret is not core serializing)")


def global_exit(config: Config) -> Workload:
    return Workload(
        "global_exit",
        "GLOBAL_EXPEDITED while a registered single-threaded process P exits and its mm is freed "
        "(racy-load thread 2019)",
        (TaskSpec("T0", "A", (membarrier(Cmd.GLOBAL_EXPEDITED, 0),), cpus=PINNED0, start_cpu=0,
                  preemptible=False),
         TaskSpec("P", "B", (membarrier(Cmd.REGISTER_GLOBAL_EXPEDITED, 0), EXIT), start_cpu=1,
                  preemptible=False),
         TaskSpec("Q", "C", ())),
        source="Will Deacon, membarrier_state racy-load thread, 2019 (p->mm->membarrier_state racy load)")


def sb_global(config: Config) -> Workload:
    return Workload(
        "sb_global",
        "SB between two processes through GLOBAL_EXPEDITED; T1's process registers on its own CPU first",
        (TaskSpec("T0", "A", (store(X, 1), membarrier(Cmd.GLOBAL_EXPEDITED, 1), load(Y, 0)),
                  cpus=PINNED0, start_cpu=0, preemptible=False),
         TaskSpec("T1", "B", (membarrier(Cmd.REGISTER_GLOBAL_EXPEDITED, 1), store(Y, 1), BARRIER, load(X, 0)),
                  start_cpu=1, preemptible=False)),
        forbidden=(("T0", 0, 0), ("T1", 0, 0), ("T0", 1, 0), ("T1", 1, 0)),
        source="registration without runqueue sync")


def mp_exit(config: Config) -> Workload:
    return Workload(
        "mp_exit",
        "MP where T1 (CLONE_VM, another thread group) exits right after its stores (kernel scenario D); "
        "T2 never runs and only keeps mm_users above 1, so the single-user shortcut does not apply",
        (TaskSpec("T0", "A", _register(config, Cmd.REGISTER_PRIVATE_EXPEDITED, 3)
                  + (load(Y, 0), membarrier(Cmd.PRIVATE_EXPEDITED, 1), load(X, 2)),
                  cpus=PINNED0, start_cpu=0, preemptible=False),
         TaskSpec("T1", "A", (store(X, 1), BARRIER, store(Y, 1), EXIT), start_cpu=1, preemptible=False),
         TaskSpec("T2", "A", (), cpus=NOWHERE)),
        forbidden=(("T0", 0, 1), ("T0", 2, 0), ("T0", 1, 0)),
        source="kernel/sched/membarrier.c scenario D")


def sb_global_lazy(config: Config) -> Workload:
    return Workload(
        "sb_global_lazy",
        "SB through GLOBAL_EXPEDITED against process B, which registered (from T2 on CPU 0) while its thread "
        "T1 was lazily switched out of CPU 1 and resumes through kthread -> same-mm",
        (TaskSpec("T2", "B", (membarrier(Cmd.REGISTER_GLOBAL_EXPEDITED, 0),), cpus=PINNED0, start_cpu=0,
                  preemptible=False),
         TaskSpec("T0", "A", (store(X, 1), membarrier(Cmd.GLOBAL_EXPEDITED, 1), load(Y, 0)),
                  cpus=PINNED0, preemptible=False),
         TaskSpec("T1", "B", (store(Y, 1), BARRIER, load(X, 0)), start_cpu=1)),
        forbidden=(("T0", 0, 0), ("T1", 0, 0), ("T0", 1, 0), ("T2", 0, 0)),
        source="kernel/sched/sched.h membarrier_switch_mm() and the lazy-mm path")


def sb_global_exit(config: Config) -> Workload:
    return Workload(
        "sb_global_exit",
        "SB through GLOBAL_EXPEDITED against process B, registered (from T2 on CPU 0) while its thread T3 ran "
        "on CPU 1; T3 exits (exit_mm() writes 0 to rq->membarrier_state) and B's thread T1 follows it there, "
        "a dead task -> same-mm switch",
        (TaskSpec("T2", "B", (membarrier(Cmd.REGISTER_GLOBAL_EXPEDITED, 0),), cpus=PINNED0, start_cpu=0,
                  preemptible=False),
         TaskSpec("T3", "B", (EXIT,), start_cpu=1, preemptible=False),
         TaskSpec("T0", "A", (store(X, 1), membarrier(Cmd.GLOBAL_EXPEDITED, 1), load(Y, 0)),
                  cpus=PINNED0, preemptible=False),
         TaskSpec("T1", "B", (store(Y, 1), BARRIER, load(X, 0)), preemptible=False)),
        forbidden=(("T0", 0, 0), ("T1", 0, 0), ("T0", 1, 0), ("T2", 0, 0)),
        source="kernel/exit.c exit_mm() and kernel/sched/sched.h membarrier_switch_mm()")


def sb_kthread(config: Config) -> Workload:
    return Workload(
        "sb_kthread",
        "SB through PRIVATE_EXPEDITED against a kernel thread K that works on A's memory between "
        "kthread_use_mm(A) and kthread_unuse_mm() (kernel scenario E); T1 never runs and only keeps "
        "mm_users above 1",
        (TaskSpec("T0", "A", _register(config, Cmd.REGISTER_PRIVATE_EXPEDITED, 2)
                  + (store(X, 1), membarrier(Cmd.PRIVATE_EXPEDITED, 1), load(Y, 0)),
                  cpus=PINNED0, start_cpu=0, preemptible=False),
         TaskSpec("K", None, (kthread_use_mm("A"), store(Y, 1), BARRIER, load(X, 0), KTHREAD_UNUSE_MM),
                  preemptible=False),
         TaskSpec("T1", "A", (), cpus=NOWHERE)),
        forbidden=(("T0", 0, 0), ("K", 0, 0), ("T0", 1, 0)),
        source="kernel/sched/membarrier.c scenario E; kernel/kthread.c kthread_use_mm()")


SCENARIOS: dict[str, Callable[[Config], Workload]] = {
    "sb_private": sb_private,
    "mp_private": mp_private,
    "jit_sync_core": jit_sync_core,
    "global_exit": global_exit,
    "sb_global": sb_global,
    "mp_exit": mp_exit,
    "sb_global_lazy": sb_global_lazy,
    "sb_global_exit": sb_global_exit,
    "sb_kthread": sb_kthread,
}
