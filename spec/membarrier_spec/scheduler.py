"""The scheduler's side of membarrier: context switch steps, lazy mm, exit_mm.

A context switch on CPU ``c`` from ``prev`` to ``next`` runs with interrupts
off (no IPI is handled in the middle) as these steps, each one action:

1. ``__schedule``: take the rq lock, ``smp_mb__after_spinlock()`` (the
   barrier before the ``rq->curr`` store that every preset has).
2. ``rq_curr_store``: ``rq->curr = next`` (a store into weak memory).  To a
   kernel thread: ``enter_lazy_tlb`` keeps ``active_mm`` (``mmgrab`` when
   prev was a user task).  With ``post_switch_mb=always`` (seed 000 D) an
   ``smp_mb()`` follows at once.
3. ``switch_mm`` (to a user task): ``membarrier_switch_mm`` refreshes
   ``rq->membarrier_state`` when the mm changes, then ``switch_mm_irqs_off``
   (a full barrier and core serializing on x86; neither on powerpc).
4. ``membarrier_arch_switch_mm`` (powerpc only): ``smp_mb()`` when the next
   mm is registered.
5. ``finish_task_switch``: ``mmdrop`` of the lazy mm (a full barrier in
   mainline; not in seed 003's relaxed variant), then the return to user:
   core serialization when the mm is SYNC_CORE-registered
   (``membarrier_mm_sync_core_before_usermode``), the seed 000 E barrier.

Steps that do nothing in a preset are not taken, so they add no states.
"""

from __future__ import annotations

from .abi import State
from .state import (NO_MM, KState, Setup, Switch, registered, smp_mb, step, with_cpu, with_ghost,
                    with_mm, with_task, rq_curr_var)
from . import memory

REGISTERED_BITS = State.PRIVATE_EXPEDITED | State.GLOBAL_EXPEDITED


def busy_tasks(s: KState) -> set[int]:
    """Tasks on a CPU or in the middle of a switch (not available to another CPU)."""
    out = set()
    for cpu in s.cpus:
        out.add(cpu.curr)
        if cpu.sw is not None:
            out.add(cpu.sw.next)
            out.add(cpu.sw.prev)
    return out


def may_switch_out(setup: Setup, s: KState, c: int) -> bool:
    """The current task can leave the CPU: not inside a syscall, and preemptible, finished or dead."""
    layout = setup.layouts[s.scenario]
    t = s.cpus[c].curr
    task = s.tasks[t]
    if task.call is not None:
        return False
    if task.dead or layout.is_kthread(t):
        return True
    return layout.specs[t].preemptible or task.pc >= len(layout.specs[t].steps)


def schedule(setup: Setup, s: KState, c: int):
    """``__schedule()`` on CPU ``c``: pick any runnable task allowed here and start the switch."""
    layout = setup.layouts[s.scenario]
    cpu = s.cpus[c]
    if cpu.sw is not None or not may_switch_out(setup, s, c):
        return
    busy = busy_tasks(s)
    for nxt in range(len(s.tasks)):
        if nxt in busy or s.tasks[nxt].dead or not setup.may_run_on(layout, nxt, c):
            continue
        ns = smp_mb(s, c)
        ns = with_cpu(ns, c, sw=Switch(prev=cpu.curr, next=nxt, step="rq_curr_store"))
        yield step("__schedule", cpu=c, prev=layout.task_name(cpu.curr), next=layout.task_name(nxt)), ns


def switch_steps(setup: Setup, s: KState, c: int):
    """The next step of the switch in progress on CPU ``c`` (exactly one is enabled)."""
    sw = s.cpus[c].sw
    yield from {"rq_curr_store": _rq_curr_store, "after_rq_curr_mb": _after_rq_curr_mb,
                "switch_mm": _switch_mm, "membarrier_arch_switch_mm": _arch_switch_mm,
                "finish_task_switch": _finish_task_switch}[sw.step](setup, s, c, sw)


def _next_after_store(setup: Setup, s: KState, c: int, sw: Switch) -> str:
    layout = setup.layouts[s.scenario]
    if layout.is_kthread(sw.next):
        return "finish_task_switch"
    return "switch_mm"


def _rq_curr_store(setup, s, c, sw):
    layout = setup.layouts[s.scenario]
    cpu = s.cpus[c]
    mem, sbuf, view = memory.store(s.mem, cpu.sbuf, cpu.view, rq_curr_var(c), sw.next)
    ns = KState(s.scenario, s.cpus, s.tasks, s.mms, mem, s.ghost)
    prev_user = s.tasks[sw.prev].mm != NO_MM
    rq_state = cpu.rq_state
    if layout.is_kthread(sw.next):
        if prev_user and cpu.active_mm != NO_MM:
            ns = with_mm(ns, cpu.active_mm, lazy=ns.mms[cpu.active_mm].lazy + 1)  # mmgrab(): lazy reference
        if setup.config.rq_state_refresh == "every_switch":
            rq_state = 0
    if setup.config.post_switch_mb == "always":
        nstep = "after_rq_curr_mb"
    else:
        nstep = _next_after_store(setup, s, c, sw)
    ns = with_cpu(ns, c, curr=sw.next, sbuf=sbuf, view=view, rq_state=rq_state)
    ns = with_cpu(ns, c, sw=_skip(setup, ns, c, sw, nstep))
    ns = _maybe_done(setup, ns, c)
    yield step("rq_curr_store", cpu=c, next=layout.task_name(sw.next)), ns


def _after_rq_curr_mb(setup, s, c, sw):
    """Seed 000 D: keep an smp_mb() after the rq->curr store on every switch."""
    layout = setup.layouts[s.scenario]
    ns = smp_mb(s, c)
    prev_mm, next_mm = s.tasks[sw.prev].mm, s.tasks[sw.next].mm
    if not registered(s.mms[prev_mm] if prev_mm != NO_MM else None) and \
            not registered(s.mms[next_mm] if next_mm != NO_MM else None):
        ns = with_ghost(ns, "sched_mb_unregistered")
    ns = with_cpu(ns, c, sw=_skip(setup, ns, c, sw, _next_after_store(setup, s, c, sw)))
    ns = _maybe_done(setup, ns, c)
    yield step("smp_mb", cpu=c, why="after rq->curr store (seed 000 D)",
               next=layout.task_name(sw.next)), ns


def _switch_mm(setup, s, c, sw):
    """membarrier_switch_mm() then switch_mm_irqs_off() to the next task's mm."""
    config = setup.config
    layout = setup.layouts[s.scenario]
    cpu = s.cpus[c]
    next_mm = s.tasks[sw.next].mm
    prev_lazy = s.tasks[sw.prev].mm == NO_MM  # from a kernel thread or a dead task: drop its lazy mm
    ns = s
    changes = {}
    if cpu.active_mm != next_mm or config.rq_state_refresh == "every_switch":
        changes["rq_state"] = s.mms[next_mm].state  # membarrier_switch_mm()
    if cpu.active_mm != next_mm:
        if config.switch_mm_mb:
            ns = smp_mb(ns, c)
        if config.switch_mm_serializes:
            changes["stale"] = False
    prev_mm = cpu.active_mm if prev_lazy else NO_MM
    after = "membarrier_arch_switch_mm" if (config.post_switch_mb == "membarrier_arch_switch_mm"
                                            and cpu.active_mm != next_mm) else "finish_task_switch"
    nsw = Switch(sw.prev, sw.next, after, prev_mm)
    ns = with_cpu(ns, c, active_mm=next_mm, sw=nsw, **changes)
    ns = _maybe_done(setup, with_cpu(ns, c, sw=_skip(setup, ns, c, nsw, after)), c)
    yield step("switch_mm", cpu=c, prev=layout.mm_name(cpu.active_mm), next=layout.mm_name(next_mm),
               implied_mb=bool(config.switch_mm_mb and cpu.active_mm != next_mm)), ns


def _arch_switch_mm(setup, s, c, sw):
    """powerpc: smp_mb() when switching to an mm registered for (private or global) expedited."""
    layout = setup.layouts[s.scenario]
    next_mm = s.tasks[sw.next].mm
    ns = s
    did = bool(s.mms[next_mm].state & REGISTERED_BITS)
    if did:
        ns = smp_mb(ns, c)
    ns = with_cpu(ns, c, sw=_skip(setup, ns, c, sw, "finish_task_switch"))
    ns = _maybe_done(setup, ns, c)
    yield step("membarrier_arch_switch_mm", cpu=c, next=layout.mm_name(next_mm), smp_mb=did), ns


def _finish_task_switch(setup, s, c, sw):
    """mmdrop() of the lazy mm, release the rq lock, and return to user."""
    config = setup.config
    layout = setup.layouts[s.scenario]
    ns = s
    notes = []
    if sw.prev_mm != NO_MM:
        mm = ns.mms[sw.prev_mm]
        lazy = mm.lazy - 1
        ns = with_mm(ns, sw.prev_mm, lazy=lazy, freed=mm.freed or (lazy == 0 and mm.users == 0))
        notes.append(f"mmdrop({layout.mm_name(sw.prev_mm)})")
        if config.lazy_mm_mb in ("mmdrop", "explicit"):
            ns = smp_mb(ns, c)
            notes.append("smp_mb" if config.lazy_mm_mb == "mmdrop" else "smp_mb__after_switch_mm")
    if not layout.is_kthread(sw.next):
        ns, more = _return_to_user(setup, ns, c, sw.next, sw.prev_mm != NO_MM)
        notes += more
    ns = with_cpu(ns, c, sw=None)
    yield step("finish_task_switch", cpu=c, next=layout.task_name(sw.next), does="; ".join(notes) or "-"), ns


def _return_to_user(setup: Setup, s: KState, c: int, t: int, from_lazy: bool) -> tuple[KState, list[str]]:
    """The return to user mode at the end of a switch.

    ``membarrier_mm_sync_core_before_usermode()`` runs only on finish_task_switch()'s
    lazy path (rq->prev_mm set: the previous task was a kernel thread or dead),
    as in the kernel; a switch between two threads of one mm does not sync the core.
    """
    config = setup.config
    task = s.tasks[t]
    mm = s.mms[task.mm]
    notes = []
    if config.post_switch_mb == "return_to_user_registered" and mm.state & REGISTERED_BITS:
        s = smp_mb(s, c)
        notes.append("smp_mb (TIF, seed 000 E)")
    if task.tif:
        s = with_task(smp_mb(s, c), t, tif=False)
        notes.append("smp_mb (TIF_MEMBARRIER, seed 000 C)")
    if s.cpus[c].stale:
        if from_lazy and config.sync_core_before_usermode and mm.state & State.PRIVATE_EXPEDITED_SYNC_CORE:
            s = with_cpu(s, c, stale=False)
            notes.append("sync_core_before_usermode")
        elif config.return_to_user_serializes:
            s = with_cpu(s, c, stale=False)
            notes.append("serializing return")
    return s, notes


def _return_has_work(setup: Setup, s: KState, c: int, t: int, from_lazy: bool) -> bool:
    ns, notes = _return_to_user(setup, s, c, t, from_lazy)
    return bool(notes)


def _skip(setup: Setup, s: KState, c: int, sw: Switch, nstep: str) -> Switch:
    """Advance to ``nstep``, passing over steps that would do nothing in this preset and state."""
    layout = setup.layouts[s.scenario]
    if nstep == "switch_mm":
        cpu_active = s.cpus[c].active_mm
        next_mm = s.tasks[sw.next].mm
        fresh = (setup.config.rq_state_refresh != "every_switch"
                 or s.cpus[c].rq_state == s.mms[next_mm].state)
        if cpu_active == next_mm and s.tasks[sw.prev].mm != NO_MM and fresh:
            nstep = "finish_task_switch"  # same mm, from a user task: nothing to switch, drop or refresh
    if nstep == "finish_task_switch" and sw.prev_mm == NO_MM:
        if layout.is_kthread(sw.next) or not _return_has_work(setup, s, c, sw.next, False):
            return Switch(sw.prev, sw.next, "done", sw.prev_mm)
    return Switch(sw.prev, sw.next, nstep, sw.prev_mm)


def _maybe_done(setup: Setup, s: KState, c: int) -> KState:
    sw = s.cpus[c].sw
    if sw is not None and sw.step == "done":
        return with_cpu(s, c, sw=None)
    return s


def exit_mm(setup: Setup, s: KState, c: int, t: int) -> KState:
    """exit_mm(): [smp_mb()]; current->mm = NULL; the mm stays lazily active; mmput()."""
    mm = s.tasks[t].mm
    if setup.config.exit_mm_mb:
        s = smp_mb(s, c)
    s = with_task(s, t, mm=NO_MM, dead=True, pc=s.tasks[t].pc + 1)
    m = s.mms[mm]
    return with_mm(s, mm, users=m.users - 1, lazy=m.lazy + 1)

