"""The scheduler's side of membarrier: context switch steps, lazy mm, exit_mm, kthread_{use,unuse}_mm.

A context switch on CPU ``c`` from ``prev`` to ``next`` (kernel/sched/core.c
``__schedule()`` and ``context_switch()``) runs with interrupts off, so no
IPI is handled in the middle.  Its steps, each one action:

1. ``__schedule``: ``rq_lock()`` and ``smp_mb__after_spinlock()``, the barrier
   before the ``rq->curr`` store that every preset has; pick ``next``.
2. ``rq_curr_store``: ``RCU_INIT_POINTER(rq->curr, next)``, a store into weak
   memory.  To a kernel thread (``!next->mm``), ``context_switch()`` takes the
   lazy branch here: ``next->active_mm = prev->active_mm`` and
   ``mmgrab_lazy_tlb()`` when ``prev`` was a user task; v6.18 leaves
   ``rq->membarrier_state`` alone.  With ``post_switch_mb=always`` (BoF 2017 D)
   an ``smp_mb()`` follows at once (``after_rq_curr_mb``).
3. ``switch_mm`` (to a user task): ``membarrier_switch_mm()`` (kernel/sched/
   sched.h; :func:`membarrier_switch_mm` below), then
   ``switch_mm_irqs_off(prev->active_mm, next->mm)``: on x86 a CR3 write when
   the mm changes, which is a full barrier and core serializing; neither on
   powerpc.  Coming from a task without mm, ``rq->prev_mm = prev->active_mm``.
4. ``membarrier_arch_switch_mm`` (powerpc only): ``smp_mb()`` when the next mm
   is registered.
5. ``finish_task_switch``: ``finish_lock_switch()`` (unlock, interrupts on),
   then for ``rq->prev_mm``: ``membarrier_mm_sync_core_before_usermode()`` and
   ``mmdrop_lazy_tlb_sched()`` (a full barrier in mainline; not in lazy-mm thread 2021's
   relaxed variant); then the return to user mode.

Abstractions: the switch is atomic with respect to IPIs up to the end of
``finish_task_switch`` although the kernel enables interrupts just before the
``mmdrop``; an IPI taken there runs a full barrier next to the ``mmdrop``'s
own, so it adds no behaviour.  ``rq->membarrier_state`` is a per-CPU
variable that other CPUs read without delay (it is not in weak memory).
Steps that do nothing in a preset and state are not taken, so they add no
states; the step before records what ``membarrier_switch_mm()`` did.
"""

from __future__ import annotations

from ..abi import State
from . import memory
from .config import Config
from .state import (NO_MM, KState, Setup, Switch, registered, rq_curr_var, smp_mb, step, with_cpu, with_ghost,
                    with_mm, with_task)

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
    if task.dead:
        return True
    return layout.specs[t].preemptible or task.pc >= len(layout.specs[t].steps)


def is_user(s: KState, t: int) -> bool:
    """``t->mm != NULL``: a user task, or a kernel thread between kthread_use_mm() and kthread_unuse_mm()."""
    return s.tasks[t].mm != NO_MM


# --- membarrier_switch_mm() -------------------------------------------------------------------------------

# What one call of membarrier_switch_mm() did: returned early (no load), loaded mm->membarrier_state and
# found rq->membarrier_state equal, or stored it.  Recorded in the step for the scheduler-cost count.
SKIP, LOAD, STORE = "-", "load", "store"


def membarrier_switch_mm(config: Config, s: KState, c: int, prev: int, nxt: int) -> tuple[int, str]:
    """``rq->membarrier_state`` after the context switch ``prev -> nxt`` on CPU ``c``, and what it cost.

    v6.18 (``active_mm``) calls ``membarrier_switch_mm(rq, prev->active_mm, next->mm)`` on a switch to
    a user task only, and that function returns early when ``prev_mm == next_mm``: exactly the switch
    from a kernel thread (or a dead task) whose lazy ``active_mm`` is ``next``'s mm, so the state that
    ``exit_mm()``, ``kthread_unuse_mm()`` or a registration during the lazy window left stays.  The
    candidate fixes change the arguments, the early return, or where it is called.
    """
    cpu = s.cpus[c]
    variant = config.membarrier_switch_mm
    to_user = is_user(s, nxt)
    if variant == "prev_mm_every_switch":
        prev_mm, next_mm = s.tasks[prev].mm, s.tasks[nxt].mm
    elif not to_user:
        return cpu.rq_state, SKIP  # the lazy branch of context_switch() does not call it
    elif variant == "prev_mm":
        prev_mm, next_mm = s.tasks[prev].mm, s.tasks[nxt].mm
    else:
        prev_mm, next_mm = cpu.active_mm, s.tasks[nxt].mm
    if prev_mm == next_mm and variant != "no_early_return":
        return cpu.rq_state, SKIP
    state = s.mms[next_mm].state if next_mm != NO_MM else 0
    if cpu.rq_state == state:  # READ_ONCE(rq->membarrier_state) == membarrier_state
        return state, LOAD
    return state, STORE


def switch_kind(s: KState, c: int, prev: int, nxt: int) -> str:
    """The kind of a context switch, for the scheduler-cost table."""
    if not is_user(s, nxt):
        return "user -> kthread" if is_user(s, prev) else "kthread -> kthread"
    same = s.cpus[c].active_mm == s.tasks[nxt].mm
    if is_user(s, prev):
        return "user -> user, same mm" if same else "user -> user, other mm"
    return "kthread -> user, lazy mm" if same else "kthread -> user, other mm"


# --- the switch -------------------------------------------------------------------------------------------

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
        yield step("schedule", cpu=c, prev=layout.task_name(cpu.curr), next=layout.task_name(nxt)), ns


def switch_steps(setup: Setup, s: KState, c: int):
    """The next step of the switch in progress on CPU ``c`` (exactly one is enabled)."""
    sw = s.cpus[c].sw
    yield from {"rq_curr_store": _rq_curr_store, "after_rq_curr_mb": _after_rq_curr_mb,
                "switch_mm": _switch_mm, "membarrier_arch_switch_mm": _arch_switch_mm,
                "finish_task_switch": _finish_task_switch}[sw.step](setup, s, c, sw)


def _next_after_store(s: KState, sw: Switch) -> str:
    return "switch_mm" if is_user(s, sw.next) else "finish_task_switch"


def _rq_curr_store(setup, s, c, sw):
    """rq->curr = next; to a kernel thread also the lazy branch of context_switch()."""
    layout = setup.layouts[s.scenario]
    cpu = s.cpus[c]
    mem, sbuf, view = memory.store(s.mem, cpu.sbuf, cpu.view, rq_curr_var(c), sw.next)
    ns = KState(s.scenario, s.cpus, s.tasks, s.mms, mem, s.ghost)
    rq_state, cost = cpu.rq_state, None  # to a user task, switch_mm (or _skip) says what it cost
    if not is_user(s, sw.next):
        if is_user(s, sw.prev) and cpu.active_mm != NO_MM:
            ns = with_mm(ns, cpu.active_mm, lazy=ns.mms[cpu.active_mm].lazy + 1)  # mmgrab_lazy_tlb()
        rq_state, cost = membarrier_switch_mm(setup.config, s, c, sw.prev, sw.next)
    nstep = "after_rq_curr_mb" if setup.config.post_switch_mb == "always" else _next_after_store(s, sw)
    ns = with_cpu(ns, c, curr=sw.next, sbuf=sbuf, view=view, rq_state=rq_state)
    nsw, skipped = _skip(setup, ns, c, sw, nstep)
    if skipped is not None:
        cost = skipped
    ns = _maybe_done(with_cpu(ns, c, sw=nsw), c)
    yield step("rq_curr_store", cpu=c, next=layout.task_name(sw.next),
               **_cost_args(s, c, sw, cost)), ns


def _cost_args(s: KState, c: int, sw: Switch, cost: str | None) -> dict:
    """The step arguments that say what membarrier_switch_mm() did in this step, if it ran here."""
    if cost is None:
        return {}
    return {"switch": switch_kind(s, c, sw.prev, sw.next), "membarrier_state": cost}


def _after_rq_curr_mb(setup, s, c, sw):
    """BoF 2017 D: keep an smp_mb() after the rq->curr store on every switch."""
    layout = setup.layouts[s.scenario]
    ns = smp_mb(s, c)
    prev_mm, next_mm = s.tasks[sw.prev].mm, s.tasks[sw.next].mm
    if not registered(s.mms[prev_mm] if prev_mm != NO_MM else None) and \
            not registered(s.mms[next_mm] if next_mm != NO_MM else None):
        ns = with_ghost(ns, "sched_mb_unregistered")
    nsw, cost = _skip(setup, ns, c, sw, _next_after_store(s, sw))
    ns = _maybe_done(with_cpu(ns, c, sw=nsw), c)
    yield step("after_rq_curr_mb", cpu=c,
               next=layout.task_name(sw.next), **_cost_args(s, c, sw, cost)), ns


def _switch_mm(setup, s, c, sw):
    """membarrier_switch_mm(), then switch_mm_irqs_off(prev->active_mm, next->mm)."""
    config = setup.config
    layout = setup.layouts[s.scenario]
    cpu = s.cpus[c]
    next_mm = s.tasks[sw.next].mm
    rq_state, cost = membarrier_switch_mm(config, s, c, sw.prev, sw.next)
    changes = {"rq_state": rq_state}
    ns = s
    if cpu.active_mm != next_mm:
        if config.switch_mm_mb:
            ns = smp_mb(ns, c)
        if config.switch_mm_serializes:
            changes["stale"] = False
    prev_mm = cpu.active_mm if not is_user(s, sw.prev) else NO_MM  # rq->prev_mm, dropped in finish_task_switch
    after = "membarrier_arch_switch_mm" if (config.post_switch_mb == "membarrier_arch_switch_mm"
                                            and cpu.active_mm != next_mm) else "finish_task_switch"
    nsw = Switch(sw.prev, sw.next, after, prev_mm)
    ns = with_cpu(ns, c, active_mm=next_mm, **changes)
    ns = _maybe_done(with_cpu(ns, c, sw=_skip(setup, ns, c, nsw, after)[0]), c)
    yield step("switch_mm", cpu=c, prev=layout.mm_name(cpu.active_mm), next=layout.mm_name(next_mm),
               implied_mb=bool(config.switch_mm_mb and cpu.active_mm != next_mm),
               **_cost_args(s, c, sw, cost)), ns


def _arch_switch_mm(setup, s, c, sw):
    """powerpc: smp_mb() when switching to an mm registered for (private or global) expedited."""
    layout = setup.layouts[s.scenario]
    next_mm = s.tasks[sw.next].mm
    ns = s
    did = bool(s.mms[next_mm].state & REGISTERED_BITS)
    if did:
        ns = smp_mb(ns, c)
    ns = _maybe_done(with_cpu(ns, c, sw=_skip(setup, ns, c, sw, "finish_task_switch")[0]), c)
    yield step("membarrier_arch_switch_mm", cpu=c, next=layout.mm_name(next_mm), smp_mb=did), ns


def _finish_task_switch(setup, s, c, sw):
    """finish_lock_switch(); for rq->prev_mm: sync_core_before_usermode and mmdrop_lazy_tlb; return to user."""
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
    if is_user(s, sw.next):
        ns, more = _return_to_user(setup, ns, c, sw.next, sw.prev_mm)
        notes += more
    ns = with_cpu(ns, c, sw=None)
    yield step("finish_task_switch", cpu=c, next=layout.task_name(sw.next), does="; ".join(notes) or "-"), ns


def _return_to_user(setup: Setup, s: KState, c: int, t: int, prev_mm: int) -> tuple[KState, list[str]]:
    """The end of finish_task_switch() and the return to user mode of ``t``.

    ``membarrier_mm_sync_core_before_usermode(rq->prev_mm)`` serializes the core only when
    ``current->mm`` is that lazy mm and it is SYNC_CORE-registered (include/linux/sched/mm.h); a
    switch between two threads of one mm does not sync the core.
    """
    config = setup.config
    task = s.tasks[t]
    mm = s.mms[task.mm]
    notes = []
    if config.post_switch_mb == "return_to_user_registered" and mm.state & REGISTERED_BITS:
        s = smp_mb(s, c)
        notes.append("smp_mb (TIF, BoF 2017 E)")
    if task.tif:
        s = with_task(smp_mb(s, c), t, tif=False)
        notes.append("smp_mb (TIF_MEMBARRIER, BoF 2017 C)")
    if s.cpus[c].stale:
        if (config.sync_core_before_usermode and prev_mm == task.mm
                and mm.state & State.PRIVATE_EXPEDITED_SYNC_CORE):
            s = with_cpu(s, c, stale=False)
            notes.append("sync_core_before_usermode")
        elif config.return_to_user_serializes:
            s = with_cpu(s, c, stale=False)
            notes.append("serializing return")
    return s, notes


def _skip(setup: Setup, s: KState, c: int, sw: Switch, nstep: str) -> tuple[Switch, str | None]:
    """Advance to ``nstep``, passing over steps that would do nothing in this preset and state.

    Returns the new switch record and, when ``switch_mm`` was passed over, what its
    ``membarrier_switch_mm()`` did (it changed nothing, or the step would have been taken).
    """
    cost = None
    if nstep == "switch_mm":
        next_mm = s.tasks[sw.next].mm
        if s.cpus[c].active_mm == next_mm and is_user(s, sw.prev):
            rq_state, what = membarrier_switch_mm(setup.config, s, c, sw.prev, sw.next)
            if rq_state == s.cpus[c].rq_state:  # same mm, from a user task: nothing to switch or drop
                nstep, cost = "finish_task_switch", what
    if nstep == "finish_task_switch" and sw.prev_mm == NO_MM:
        if not is_user(s, sw.next) or not _return_has_work(setup, s, c, sw.next):
            return Switch(sw.prev, sw.next, "done", sw.prev_mm), cost
    return Switch(sw.prev, sw.next, nstep, sw.prev_mm), cost


def _return_has_work(setup: Setup, s: KState, c: int, t: int) -> bool:
    return bool(_return_to_user(setup, s, c, t, NO_MM)[1])


def _maybe_done(s: KState, c: int) -> KState:
    sw = s.cpus[c].sw
    if sw is not None and sw.step == "done":
        return with_cpu(s, c, sw=None)
    return s


# --- a task giving up or taking an mm outside a context switch ---------------------------------------------

def exit_mm(setup: Setup, s: KState, c: int, t: int) -> KState:
    """exit_mm() (kernel/exit.c), from ``mmgrab_lazy_tlb()`` to ``mmput()``.

    ``smp_mb__after_spinlock()`` (kernel scenario D; absent with ``exit_mm_mb=False``), then with
    interrupts off ``current->mm = NULL`` and ``membarrier_update_current_mm(NULL)``, which writes 0 to
    ``rq->membarrier_state`` (no early return); the mm stays this CPU's lazy ``active_mm``.  Abstracted:
    ``mmap_read_lock``, ``task_lock``, ``mm_update_next_owner``; the task is dead from here on.
    """
    mm = s.tasks[t].mm
    if setup.config.exit_mm_mb:
        s = smp_mb(s, c)
    s = with_task(s, t, mm=NO_MM, dead=True, pc=s.tasks[t].pc + 1)
    s = with_cpu(s, c, rq_state=0)
    m = s.mms[mm]
    return with_mm(s, mm, users=m.users - 1, lazy=m.lazy + 1)


def kthread_use_mm(setup: Setup, s: KState, c: int, t: int, mm: int) -> KState:
    """kthread_use_mm(mm) (kernel/kthread.c) by the kernel thread ``t`` running on CPU ``c``.

    ``mmgrab(mm)``; with interrupts off ``tsk->active_mm = tsk->mm = mm``,
    ``membarrier_update_current_mm(mm)`` (no early return) and ``switch_mm_irqs_off(active_mm, mm)``
    (x86: a full barrier and core serializing when the mm changes); then ``mmdrop_lazy_tlb()`` of the
    old active mm, the full barrier of kernel scenario E (g).  One step: an IPI between the end of the
    interrupts-off section and the ``mmdrop`` would run a full barrier next to it.
    """
    config = setup.config
    cpu = s.cpus[c]
    old = cpu.active_mm
    s = with_mm(s, mm, lazy=s.mms[mm].lazy + 1)  # mmgrab()
    s = with_task(s, t, mm=mm, pc=s.tasks[t].pc + 1)
    changes = {"active_mm": mm, "rq_state": s.mms[mm].state}
    if old != mm:
        if config.switch_mm_mb:
            s = smp_mb(s, c)
        if config.switch_mm_serializes:
            changes["stale"] = False
    s = with_cpu(s, c, **changes)
    if old != NO_MM:
        o = s.mms[old]
        s = with_mm(s, old, lazy=o.lazy - 1, freed=o.freed or (o.lazy == 1 and o.users == 0))
    if config.lazy_mm_mb in ("mmdrop", "explicit"):
        s = smp_mb(s, c)
    return s


def kthread_unuse_mm(setup: Setup, s: KState, c: int, t: int) -> KState:
    """kthread_unuse_mm(mm) (kernel/kthread.c) by the kernel thread ``t`` running on CPU ``c``.

    ``smp_mb__after_spinlock()`` (kernel scenario E, d); with interrupts off ``tsk->mm = NULL``,
    ``membarrier_update_current_mm(NULL)`` (``rq->membarrier_state = 0``), ``mmgrab_lazy_tlb(mm)``,
    ``enter_lazy_tlb()`` (the mm stays the lazy ``active_mm``); then ``mmdrop(mm)`` of the reference
    kthread_use_mm() took.  The two references cancel out: the lazy one remains.
    """
    s = smp_mb(s, c)
    s = with_task(s, t, mm=NO_MM, pc=s.tasks[t].pc + 1)
    s = with_cpu(s, c, rq_state=0)
    if setup.config.lazy_mm_mb in ("mmdrop", "explicit"):
        s = smp_mb(s, c)
    return s
