"""Program steps of the litmus tasks: store, load, smp_mb, code, membarrier entry, exit, kthread_{use,unuse}_mm.

User tasks run these in user mode; a kernel thread runs its accesses to a user
mm between ``kthread_use_mm()`` and ``kthread_unuse_mm()``, as io_uring or
vhost workers do.
"""

from __future__ import annotations

from . import memory, syscalls
from .membarrier import first_step
from .memory import replace
from .scheduler import exit_mm, kthread_unuse_mm, kthread_use_mm
from .state import GHOST, Call, KState, Setup, evolve, smp_mb, step, with_cpu, with_ghost, with_task
from .workloads import VAR_NAMES


def user_step(setup: Setup, s: KState, c: int):
    """The next operation of the program of the task running in user mode on CPU ``c``."""
    layout = setup.layouts[s.scenario]
    t = s.cpus[c].curr
    task = s.tasks[t]
    program = layout.specs[t].steps
    if task.dead or task.call is not None or task.pc >= len(program):
        return
    op = program[task.pc]
    name = layout.task_name(t)
    cpu = s.cpus[c]
    if op.kind == "store":
        mem, sbuf, view = memory.store(s.mem, cpu.sbuf, cpu.view, op.var, op.value)
        ns = KState(s.scenario, replace(s.cpus, c, _cpu(cpu, sbuf, view)), s.tasks, s.mms, mem, s.ghost)
        yield step("store", cpu=c, task=name, var=VAR_NAMES[op.var], value=op.value), _advance(ns, t)
    elif op.kind == "load":
        value = memory.load(cpu.sbuf, cpu.view, op.var)
        ns = with_task(s, t, pc=task.pc + 1, regs=replace(task.regs, op.reg, value))
        yield step("load", cpu=c, task=name, var=VAR_NAMES[op.var], reg=f"r{op.reg}", value=value), ns
    elif op.kind == "smp_mb":
        yield step("smp_mb", cpu=c, task=name), _advance(smp_mb(s, c), t)
    elif op.kind == "modify_code":
        ns = s
        for other in range(len(s.cpus)):
            ns = with_cpu(ns, other, stale=True)
        yield step("modify_code", cpu=c, task=name), _advance(ns, t)
    elif op.kind == "execute_code":
        ns = _advance(s, t)
        if cpu.stale and s.ghost & _SYNCED:
            ns = with_ghost(ns, "stale_code_executed")
        yield step("execute_code", cpu=c, task=name, stale=cpu.stale), ns
    elif op.kind == "exit":
        yield step("exit_mm", cpu=c, task=name, smp_mb=setup.config.exit_mm_mb), exit_mm(setup, s, c, t)
    elif op.kind == "kthread_use_mm":
        mm = layout.mm_names.index(op.mm)
        yield step("kthread_use_mm", cpu=c, task=name, mm=op.mm), kthread_use_mm(setup, s, c, t, mm)
    elif op.kind == "kthread_unuse_mm":
        yield step("kthread_unuse_mm", cpu=c, task=name, mm=layout.mm_name(task.mm)), \
            kthread_unuse_mm(setup, s, c, t)
    elif op.kind == "membarrier":
        yield from _sys_membarrier(setup, s, c, t, op)
    else:  # pragma: no cover - workloads are validated
        raise AssertionError(op.kind)


def _cpu(cpu, sbuf, view):
    return evolve(cpu, sbuf=sbuf, view=view)


def _advance(s: KState, t: int) -> KState:
    return with_task(s, t, pc=s.tasks[t].pc + 1)


_SYNCED = GHOST["sync_core_returned"]


def _sys_membarrier(setup: Setup, s: KState, c: int, t: int, op):
    """Entry: the argument checks and dispatch of syscalls.decide; an immediate answer returns at once."""
    from ..abi import cmd_name, ret_name
    layout = setup.layouts[s.scenario]
    task = s.tasks[t]
    mm = s.mms[task.mm]
    plan = syscalls.decide(op.cmd, 0, 0, membarrier_state=mm.state, mm_users=mm.users, config=setup.config)
    name = layout.task_name(t)
    if isinstance(plan, syscalls.Return):
        ns = with_task(s, t, pc=task.pc + 1, regs=replace(task.regs, op.reg, plan.value))
        yield step("sys_membarrier", cpu=c, task=name, cmd=cmd_name(op.cmd), returns=ret_name(plan.value)), ns
        return
    call = Call(cmd=op.cmd, plan=plan, step=first_step(setup, plan), reg=op.reg, saved=mm.state)
    yield step("sys_membarrier", cpu=c, task=name, cmd=cmd_name(op.cmd)), with_task(s, t, call=call)
