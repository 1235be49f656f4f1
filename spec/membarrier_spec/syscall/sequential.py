"""The syscall layer: processes, threads and their mms, without interleaving.

State is a frozen :class:`Processes` value and every operation is a pure
function returning a new one.  The rules of the syscall itself live in
:mod:`membarrier_spec.model.syscalls`; this module only keeps the books (which task
uses which mm, how many users an mm has) and applies plans atomically.
"""

from __future__ import annotations

import attrs

from ..errors import TaskError
from ..model import syscalls
from ..model.config import Config


@attrs.frozen
class Mm:
    """An ``mm_struct``: its ``membarrier_state`` bits and ``mm_users``."""

    membarrier_state: int = 0
    users: int = 1


@attrs.frozen
class Task:
    """A thread: its thread group (tgid), the mm it uses, and whether it is alive."""

    tgid: int
    mm: int
    alive: bool = True


@attrs.frozen
class Processes:
    """Every task and mm ever created, indexed by id (ids are never reused)."""

    tasks: tuple[Task, ...] = ()
    mms: tuple[Mm, ...] = ()
    fail_next_allocation: bool = False

    def task(self, tid: int) -> Task:
        if isinstance(tid, bool) or not isinstance(tid, int) or not 0 <= tid < len(self.tasks):
            raise TaskError(f"unknown task id {tid!r} (known: 0..{len(self.tasks) - 1})" if self.tasks
                            else f"unknown task id {tid!r} (no task has been spawned)")
        task = self.tasks[tid]
        if not task.alive:
            raise TaskError(f"task {tid} has exited")
        return task

    def mm_of(self, tid: int) -> Mm:
        return self.mms[self.task(tid).mm]

    def threads_of(self, tgid: int) -> list[int]:
        return [i for i, t in enumerate(self.tasks) if t.alive and t.tgid == tgid]


def _set(seq: tuple, index: int, value) -> tuple:
    return seq[:index] + (value,) + seq[index + 1:]


def _drop_user(p: Processes, mm: int) -> Processes:
    old = p.mms[mm]
    return attrs.evolve(p, mms=_set(p.mms, mm, attrs.evolve(old, users=old.users - 1)))


def spawn_process(p: Processes) -> tuple[Processes, int]:
    """A new single-threaded process with a fresh, unregistered mm."""
    tid = len(p.tasks)
    return attrs.evolve(p, tasks=p.tasks + (Task(tgid=tid, mm=len(p.mms)),), mms=p.mms + (Mm(),)), tid


def clone_thread(p: Processes, tid: int) -> tuple[Processes, int]:
    """clone(CLONE_VM | CLONE_THREAD): a new thread sharing the parent's mm."""
    parent = p.task(tid)
    mm = p.mms[parent.mm]
    new = len(p.tasks)
    p = attrs.evolve(p, tasks=p.tasks + (Task(tgid=parent.tgid, mm=parent.mm),),
                     mms=_set(p.mms, parent.mm, attrs.evolve(mm, users=mm.users + 1)))
    return p, new


def fork(p: Processes, tid: int, config: Config) -> tuple[Processes, int]:
    """fork(): a new process whose mm is a copy of the parent's, state per the fork policy."""
    parent_mm = p.mm_of(tid)
    child = len(p.tasks)
    mm = Mm(membarrier_state=syscalls.fork_state(parent_mm.membarrier_state, config))
    return attrs.evolve(p, tasks=p.tasks + (Task(tgid=child, mm=len(p.mms)),), mms=p.mms + (mm,)), child


def exec_(p: Processes, tid: int) -> Processes:
    """execve(): the other threads of the group exit and ``tid`` gets a fresh mm (state 0).

    The kernel's membarrier_exec_mmap() clears the state of the new mm; the
    old mm loses one user per thread of the group.
    """
    task = p.task(tid)
    for other in p.threads_of(task.tgid):
        if other != tid:
            p = exit_(p, other)
    p = _drop_user(p, task.mm)
    new_mm = len(p.mms)
    return attrs.evolve(p, tasks=_set(p.tasks, tid, attrs.evolve(task, mm=new_mm)), mms=p.mms + (Mm(),))


def exit_(p: Processes, tid: int) -> Processes:
    """The thread exits (exit_mm drops its mm user)."""
    task = p.task(tid)
    p = _drop_user(p, task.mm)
    return attrs.evolve(p, tasks=_set(p.tasks, tid, attrs.evolve(task, alive=False)))


def membarrier(p: Processes, tid: int, cmd: int, flags: int, cpu_id: int,
               config: Config) -> tuple[Processes, int]:
    """sys_membarrier(cmd, flags, cpu_id) called by ``tid``, run to completion."""
    task = p.task(tid)
    mm = p.mms[task.mm]
    plan = syscalls.decide(cmd, flags, cpu_id, membarrier_state=mm.membarrier_state, mm_users=mm.users,
                           config=config)
    fails = p.fail_next_allocation and syscalls.plan_allocates(plan, mm.users, config)
    if fails:
        p = attrs.evolve(p, fail_next_allocation=False)
    if isinstance(plan, syscalls.Return):
        return p, plan.value
    if isinstance(plan, syscalls.SynchronizeRcu):
        return p, 0
    if isinstance(plan, syscalls.Expedited):
        return p, syscalls.run_expedited(plan, config, fails)
    state, ret = syscalls.run_register(plan, mm.membarrier_state, mm.users, config, fails)
    p = attrs.evolve(p, mms=_set(p.mms, task.mm, attrs.evolve(mm, membarrier_state=state)))
    return p, ret
