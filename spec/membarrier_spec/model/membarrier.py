"""membarrier(2) in the kernel, one action per step, as in kernel/sched/membarrier.c.

:func:`membarrier_syscall.decide <membarrier_spec.model.syscalls.decide>` turns the
arguments into a plan; this module runs a plan as steps that other CPUs can
interleave with:

* expedited (``membarrier_private_expedited`` / ``membarrier_global_expedited``):
  ``smp_mb`` (entry), ``zalloc_cpumask_var``, ``serialize_ipi``
  (``SERIALIZE_IPI()`` takes ``membarrier_ipi_mutex``, then ``cpus_read_lock()``:
  both may sleep), one read per CPU of its runqueue
  (``rq->curr`` and ``rq->curr->mm``, or ``rq->membarrier_state``),
  ``smp_call_function_many`` (each IPI then handled by its target CPU as a
  step of its own), and ``membarrier_return``: wait for the IPIs, ``smp_mb``
  (exit), return 0.
* registration (``membarrier_register_*``): ``atomic_or`` of the non-READY
  bits, then ``sync_runqueues_membarrier_state`` (``sync_local_rq`` with one
  user, else ``zalloc_cpumask_var``, ``synchronize_rcu``, ``serialize_ipi``, a
  ``rq->curr`` read per CPU, ``on_each_cpu_mask(ipi_sync_rq_state)``), then
  ``atomic_or_ready``.  The mutex and ``cpus_read_lock()`` are released when the
  call returns (``guard()`` scope); ``rcu_read_lock()``, ``preempt_disable()`` and
  ``free_cpumask_var()`` change nothing the model tracks.
* GLOBAL: ``synchronize_rcu``.

The BoF 2017 resolutions change only how targets are found (Config.targets):
``cpumask_setall`` (A), ``rq_lock_read_curr`` (B), ``for_each_thread`` (C).
"""

from __future__ import annotations

from ..abi import Cmd, State, ret_name
from . import memory, syscalls
from .config import Config
from .memory import replace
from .state import (NO_MM, Call, KState, Setup, evolve, ipi_mutex_free, mm_of_curr, rq_curr_var, smp_mb, step,
                    with_cpu, with_ghost, with_mm, with_task)

IPI_HANDLERS = ("ipi_mb", "ipi_sync_core", "ipi_rseq", "ipi_sync_rq_state")


# --- plan -> first step -------------------------------------------------------------------------------

def first_step(setup: Setup, plan: syscalls.Plan) -> str:
    config = setup.config
    if isinstance(plan, syscalls.SynchronizeRcu):
        return "synchronize_rcu"
    if isinstance(plan, syscalls.Register):
        return "register_alloc_first" if config.alloc_policy == "ewouldblock" else "atomic_or"
    if config.entry_mb:
        return "smp_mb_entry"
    return _after_entry(config, plan)


def _after_entry(config: Config, plan: syscalls.Expedited) -> str:
    return "zalloc_cpumask_var" if plan.needs_cpumask else _lock_or(config, "targets")


def _lock_or(config: Config, then: str) -> str:
    """The step that takes the sleeping locks before the target loop, if the preset has them, else ``then``."""
    return {"serialize_ipi": "serialize_ipi", "cpus_read_lock": "cpus_read_lock", "none": then}[config.ipi_locks]


def _after_lock(plan: syscalls.Plan) -> str:
    return "read_rq_curr" if isinstance(plan, syscalls.Register) else "targets"


def _target_step(config: Config, plan: syscalls.Plan) -> str:
    if isinstance(plan, syscalls.Register):
        return "read_rq_curr"
    if plan.scope == "global":
        return "read_rq_membarrier_state" if config.rq_state_load == "rq" else "read_rq_curr_mm"
    return {"rq_curr": "read_rq_curr", "all_cpus": "cpumask_setall", "locked_rqs": "rq_lock_read_curr",
            "threads": "for_each_thread"}[config.targets]


def _candidates(s: KState, c: int, plan: syscalls.Plan) -> list[int]:
    """The CPUs the target loop examines, in for_each_online_cpu order."""
    n = len(s.cpus)
    if isinstance(plan, syscalls.Register):
        return list(range(n))
    if plan.cpu_id >= 0:
        return [plan.cpu_id] if plan.cpu_id < n else []
    return [cpu for cpu in range(n) if not (plan.skip_self and cpu == c)]


# --- the call's steps ---------------------------------------------------------------------------------

def call_steps(setup: Setup, s: KState, c: int):
    """The enabled steps of the membarrier call in progress of the task on CPU ``c``."""
    t = s.cpus[c].curr
    call = s.tasks[t].call
    name = call.step
    if name == "targets":
        name = _target_step(setup.config, call.plan)
    yield from _STEPS[name](setup, s, c, t, call)


def _goto(s: KState, t: int, call: Call, nstep: str, **changes) -> KState:
    return with_task(s, t, call=evolve(call, step=nstep, **changes))


def _who(setup: Setup, s: KState, c: int, t: int) -> dict:
    from ..abi import cmd_name
    return {"cpu": c, "task": setup.layouts[s.scenario].task_name(t),
            "cmd": cmd_name(s.tasks[t].call.cmd)}


def _return(setup: Setup, s: KState, t: int, call: Call, value: int) -> KState:
    task = s.tasks[t]
    if isinstance(call.plan, syscalls.Register) and value < 0 and s.mms[task.mm].state != call.saved:
        s = with_ghost(s, "registration_not_atomic")
    if call.cmd == Cmd.PRIVATE_EXPEDITED_SYNC_CORE and value == 0:
        s = with_ghost(s, "sync_core_returned")
    return with_task(s, t, call=None, pc=task.pc + 1, regs=replace(task.regs, call.reg, value))


def _smp_mb_entry(setup, s, c, t, call):
    ns = _goto(smp_mb(s, c), t, call, _after_entry(setup.config, call.plan))
    yield step("smp_mb_entry", **_who(setup, s, c, t)), ns


def _zalloc_cpumask_var(setup, s, c, t, call):
    """zalloc_cpumask_var(): GFP_KERNEL may sleep and fail (-ENOMEM); GFP_NOWAIT never sleeps."""
    config = setup.config
    expedited = isinstance(call.plan, syscalls.Expedited)
    gfp = "GFP_KERNEL" if syscalls.cpumask_may_sleep(config) else "GFP_NOWAIT"
    after = _lock_or(config, "targets") if expedited else "synchronize_rcu"
    ok = s
    if expedited and gfp == "GFP_KERNEL":
        ok = with_ghost(ok, "expedited_may_sleep")
    yield step("zalloc_cpumask_var", gfp=gfp, result="ok", **_who(setup, s, c, t)), _goto(ok, t, call, after)
    if not config.inject_alloc_failure:
        return
    failure = syscalls.cpumask_failure(config)
    if failure is None:  # GFP_NOWAIT fallback: IPI the CPUs one at a time instead of through a mask
        yield step("zalloc_cpumask_var", gfp=gfp, result="fails: per-CPU IPI fallback",
                   **_who(setup, s, c, t)), _goto(ok, t, call, after)
    else:
        yield step("zalloc_cpumask_var", gfp=gfp, result=f"fails: return {ret_name(failure)}",
                   **_who(setup, s, c, t)), _return(setup, ok, t, call, failure)


def _register_alloc_first(setup, s, c, t, call):
    """racy-load thread 2019, -EWOULDBLOCK variant: allocate before touching the state, so failure changes nothing."""
    mm = s.mms[s.tasks[t].mm]
    if not syscalls.sync_needs_cpumask(mm.users, setup.config):
        yield from _atomic_or(setup, s, c, t, call)
        return
    yield step("zalloc_cpumask_var", gfp="GFP_NOWAIT", result="ok", **_who(setup, s, c, t)), \
        _goto(s, t, call, "atomic_or")
    if setup.config.inject_alloc_failure:
        yield step("zalloc_cpumask_var", gfp="GFP_NOWAIT", result="fails: return -EWOULDBLOCK",
                   **_who(setup, s, c, t)), _return(setup, s, t, call, -syscalls.EWOULDBLOCK)


def _atomic_or(setup, s, c, t, call):
    """atomic_or(set_state, &mm->membarrier_state)."""
    config = setup.config
    m = s.tasks[t].mm
    mm = s.mms[m]
    ns = with_mm(s, m, state=mm.state | call.plan.set_bits)
    if not config.rq_sync:
        nstep = "atomic_or_ready"
    elif not syscalls.sync_needs_cpumask(mm.users, config):
        nstep = "sync_local_rq"
    elif config.alloc_policy == "ewouldblock" and call.step == "atomic_or":
        nstep = "synchronize_rcu"  # the mask was allocated first
    else:
        nstep = "zalloc_cpumask_var"
    yield step("atomic_or", bits=State(call.plan.set_bits).name, **_who(setup, s, c, t)), \
        _goto(ns, t, call, nstep)


def _sync_local_rq(setup, s, c, t, call):
    """One mm user or one CPU: this_cpu_write(runqueues.membarrier_state, ...); smp_mb()."""
    ns = with_cpu(s, c, rq_state=s.mms[s.tasks[t].mm].state)
    yield step("sync_local_rq", **_who(setup, s, c, t)), _goto(smp_mb(ns, c), t, call, "atomic_or_ready")


def _synchronize_rcu(setup, s, c, t, call):
    """A grace period: waits until no CPU is inside a context switch; every CPU passes a full barrier."""
    if any(cpu.sw is not None for cpu in s.cpus):
        return
    ns = grace_period(s)
    if isinstance(call.plan, syscalls.SynchronizeRcu):
        yield step("synchronize_rcu", returns="0", **_who(setup, s, c, t)), _return(setup, ns, t, call, 0)
        return
    yield step("synchronize_rcu", **_who(setup, s, c, t)), \
        _goto(ns, t, call, _lock_or(setup.config, "read_rq_curr"), cursor=0)


def _serialize_ipi(setup, s, c, t, call):
    """SERIALIZE_IPI(): mutex_lock(&membarrier_ipi_mutex); then cpus_read_lock().  Both may sleep.

    Waits while another call holds the mutex.  ``cpus_read_lock()`` never waits here (the model has
    no CPU hotplug), but it may sleep, as might_sleep() says: an expedited command that gets here
    breaks ExpeditedNeverBlocks.
    """
    if not ipi_mutex_free(s):
        return
    ns = with_ghost(s, "expedited_may_sleep") if isinstance(call.plan, syscalls.Expedited) else s
    yield step("serialize_ipi", **_who(setup, s, c, t)), _goto(ns, t, call, _after_lock(call.plan), locked=True)


def _cpus_read_lock(setup, s, c, t, call):
    """cpus_read_lock() alone (v4.14 to v6.7): may sleep, never waits here (no CPU hotplug in the model)."""
    ns = with_ghost(s, "expedited_may_sleep") if isinstance(call.plan, syscalls.Expedited) else s
    yield step("cpus_read_lock", **_who(setup, s, c, t)), _goto(ns, t, call, _after_lock(call.plan))


def grace_period(s: KState) -> KState:
    """Every CPU has passed a full barrier: all store buffers drained, then every view up to date."""
    ns = s
    for cpu in range(len(s.cpus)):
        ns = smp_mb(ns, cpu)
    for cpu in range(len(s.cpus)):
        ns = smp_mb(ns, cpu)
    return ns


def _loop(setup, s, c, t, call, looked_at: KState, hit: bool, seen: bool, label: str, **extra):
    """Advance the per-CPU target loop: add the CPU to tmpmask when ``hit``."""
    cands = _candidates(s, c, call.plan)
    cpu = cands[call.cursor]
    mask = call.mask | (1 << cpu) if hit else call.mask
    seen_mask = call.seen | (1 << cpu) if seen else call.seen
    cursor = call.cursor + 1
    nstep = call.step if cursor < len(cands) else "send_ipis"
    ns = _goto(looked_at, t, call, nstep, cursor=cursor if nstep != "send_ipis" else 0, mask=mask,
               seen=seen_mask)
    yield step(label, target=cpu, ipi=hit, **extra, **_who(setup, s, c, t)), ns


def _loop_or_send(setup, s, c, t, call, reader):
    cands = _candidates(s, c, call.plan)
    if call.cursor >= len(cands):
        yield from _send_ipis(setup, s, c, t, _goto(s, t, call, "send_ipis"), )
        return
    yield from reader(setup, s, c, t, call, cands[call.cursor])


def _read_rq_curr(setup, s, c, t, call):
    """p = rcu_dereference(cpu_rq(cpu)->curr); target the CPU if p->mm == mm (a weak-memory load).

    With ``rq_sync_lazy`` (a candidate fix), the registration's sync also targets a CPU that runs a
    kernel thread whose lazy active_mm is the mm.
    """
    lazy = setup.config.rq_sync_lazy and isinstance(call.plan, syscalls.Register)

    def reader(setup, s, c, t, call, cpu):
        me = s.cpus[c]
        p = memory.load(me.sbuf, me.view, rq_curr_var(cpu))
        hit = runs_mm(s, p, cpu, s.tasks[t].mm, lazy)
        layout = setup.layouts[s.scenario]
        yield from _loop(setup, s, c, t, call, s, hit, hit, "read_rq_curr", curr=layout.task_name(p))
    yield from _loop_or_send(setup, s, c, t, call, reader)


def _cpumask_setall(setup, s, c, t, call):
    """BoF 2017 A: IPI every online CPU (but the caller's), whatever it runs."""
    mask = 0
    for cpu in _candidates(s, c, call.plan):
        mask |= 1 << cpu
    ns = _goto(s, t, call, "send_ipis", mask=mask)
    yield step("cpumask_setall", **_who(setup, s, c, t)), ns


def _rq_lock_read_curr(setup, s, c, t, call):
    """BoF 2017 B / RFC 2015: raw_spin_lock(&rq->lock), read rq->curr->mm, unlock."""
    def reader(setup, s, c, t, call, cpu):
        if s.cpus[cpu].sw is not None:
            return  # the scheduler holds that rq lock for the whole switch
        p = s.cpus[cpu].curr
        hit = s.tasks[p].mm == s.tasks[t].mm
        ns = with_ghost(s, "rq_lock_taken")
        layout = setup.layouts[s.scenario]
        yield from _loop(setup, s, c, t, call, ns, hit, hit, "rq_lock_read_curr", curr=layout.task_name(p))
    yield from _loop_or_send(setup, s, c, t, call, reader)


def _for_each_thread(setup, s, c, t, call):
    """BoF 2017 C: interact with every thread of the mm: IPI it where it runs, else flag it (TIF)."""
    mm = s.tasks[t].mm
    ns, mask = s, call.mask
    for other in range(len(s.tasks)):
        if other == t or s.tasks[other].mm != mm:
            continue
        ns = with_ghost(ns, "thread_targeted")
        running = [cpu for cpu in range(len(s.cpus)) if s.cpus[cpu].curr == other and s.cpus[cpu].sw is None]
        if running:
            mask |= 1 << running[0]
        else:
            ns = with_task(ns, other, tif=True)
    ns = _goto(ns, t, call, "send_ipis", mask=mask, seen=mask)
    yield step("for_each_thread", **_who(setup, s, c, t)), ns


def _read_rq_membarrier_state(setup, s, c, t, call):
    """Mainline GLOBAL_EXPEDITED: skip CPUs whose rq->membarrier_state lacks GLOBAL_EXPEDITED or run a kthread."""
    def reader(setup, s, c, t, call, cpu):
        me = s.cpus[c]
        registered = bool(s.cpus[cpu].rq_state & State.GLOBAL_EXPEDITED)
        p = memory.load(me.sbuf, me.view, rq_curr_var(cpu))
        hit = registered and s.tasks[p].mm != NO_MM
        layout = setup.layouts[s.scenario]
        yield from _loop(setup, s, c, t, call, s, hit, False, "read_rq_membarrier_state",
                         curr=layout.task_name(p), rq_state=registered)
    yield from _loop_or_send(setup, s, c, t, call, reader)


def _read_rq_curr_mm(setup, s, c, t, call):
    """The 2019 racy load, first half: p = rq->curr; mm = p->mm (no reference is taken on mm)."""
    def reader(setup, s, c, t, call, cpu):
        me = s.cpus[c]
        p = memory.load(me.sbuf, me.view, rq_curr_var(cpu))
        mm = s.tasks[p].mm
        layout = setup.layouts[s.scenario]
        if mm == NO_MM:
            yield from _loop(setup, s, c, t, call, s, False, False, "read_rq_curr_mm",
                             curr=layout.task_name(p), mm="NULL")
            return
        yield step("read_rq_curr_mm", target=cpu, curr=layout.task_name(p), mm=layout.mm_name(mm),
                   **_who(setup, s, c, t)), _goto(s, t, call, "read_mm_membarrier_state", mm_ptr=mm)
    yield from _loop_or_send(setup, s, c, t, call, reader)


def _read_mm_membarrier_state(setup, s, c, t, call):
    """The 2019 racy load, second half: atomic_read(&mm->membarrier_state) -- the mm may be freed."""
    mm = s.mms[call.mm_ptr]
    ns = with_ghost(s, "freed_mm_read") if mm.freed else s
    hit = bool(mm.state & State.GLOBAL_EXPEDITED)
    back = evolve(call, step="read_rq_curr_mm", mm_ptr=NO_MM)
    layout = setup.layouts[s.scenario]
    yield from _loop(setup, s, c, t, back, ns, hit, False, "read_mm_membarrier_state",
                     mm=layout.mm_name(call.mm_ptr), freed=mm.freed)


def _send_ipis(setup, s, c, t, ns_with_call):
    """smp_call_function_many() / on_each_cpu_mask(): queue the IPIs; the caller's own runs here and now."""
    call = ns_with_call.tasks[t].call
    plan = call.plan
    handler = "ipi_sync_rq_state" if isinstance(plan, syscalls.Register) else plan.ipi
    arg = s.tasks[t].mm if handler == "ipi_sync_rq_state" else 0
    ns = ns_with_call
    targets = []
    for cpu in range(len(s.cpus)):
        if not call.mask & (1 << cpu):
            continue
        targets.append(cpu)
        if cpu == c:
            ns = run_handler(setup.config, ns, c, handler, arg)
            continue
        if (isinstance(plan, syscalls.Expedited) and plan.scope == "private" and not call.seen & (1 << cpu)
                and mm_of_curr(s, cpu) != s.tasks[t].mm):
            ns = with_ghost(ns, "spurious_ipi")
        ipis = tuple(sorted(ns.cpus[cpu].ipis + ((handler, t, arg),)))
        ns = with_cpu(ns, cpu, ipis=ipis)
    after = "atomic_or_ready" if isinstance(plan, syscalls.Register) else "membarrier_return"
    ns = _goto(ns, t, call, after)
    yield step("smp_call_function_many", handler=handler, cpus=",".join(map(str, targets)) or "none",
               **_who(setup, s, c, t)), ns


def _send_step(setup, s, c, t, call):
    yield from _send_ipis(setup, s, c, t, s)


def _waiting(s: KState, t: int) -> bool:
    return any(caller == t for cpu in s.cpus for (_, caller, _) in cpu.ipis)


def _membarrier_return(setup, s, c, t, call):
    """Wait for every IPI to be handled, smp_mb() (exit), return 0."""
    if _waiting(s, t):
        return
    ns = smp_mb(s, c) if setup.config.exit_mb else s
    yield step("membarrier_return", smp_mb=setup.config.exit_mb, returns="0", **_who(setup, s, c, t)), \
        _return(setup, ns, t, call, 0)


def _atomic_or_ready(setup, s, c, t, call):
    """Wait for the sync IPIs, atomic_or(ready_state, &mm->membarrier_state), return 0."""
    if _waiting(s, t):
        return
    m = s.tasks[t].mm
    ns = with_mm(s, m, state=s.mms[m].state | call.plan.ready_bit)
    yield step("atomic_or_ready", bits=State(call.plan.ready_bit).name, returns="0", **_who(setup, s, c, t)), \
        _return(setup, ns, t, call, 0)


_STEPS = {
    "smp_mb_entry": _smp_mb_entry,
    "zalloc_cpumask_var": _zalloc_cpumask_var,
    "register_alloc_first": _register_alloc_first,
    "atomic_or": _atomic_or,
    "sync_local_rq": _sync_local_rq,
    "synchronize_rcu": _synchronize_rcu,
    "serialize_ipi": _serialize_ipi,
    "cpus_read_lock": _cpus_read_lock,
    "read_rq_curr": _read_rq_curr,
    "cpumask_setall": _cpumask_setall,
    "rq_lock_read_curr": _rq_lock_read_curr,
    "for_each_thread": _for_each_thread,
    "read_rq_membarrier_state": _read_rq_membarrier_state,
    "read_rq_curr_mm": _read_rq_curr_mm,
    "read_mm_membarrier_state": _read_mm_membarrier_state,
    "send_ipis": _send_step,
    "membarrier_return": _membarrier_return,
    "atomic_or_ready": _atomic_or_ready,
}


# --- IPI handlers, run by the target CPU -------------------------------------------------------------

def runs_mm(s: KState, p: int, cpu: int, mm: int, lazy_too: bool) -> bool:
    """Task ``p``, on CPU ``cpu``, runs ``mm``: ``p->mm == mm`` or, with ``lazy_too`` (the ``rq_sync_lazy``
    candidate fix), ``p`` is a kernel thread whose lazy active_mm (the CPU's) is ``mm``."""
    own = s.tasks[p].mm
    return own == mm or (lazy_too and own == NO_MM and s.cpus[cpu].active_mm == mm)


def sync_rq_state_applies(config: Config, s: KState, c: int, mm: int) -> bool:
    """``ipi_sync_rq_state`` for ``mm`` does its work on CPU ``c`` (it returns at once otherwise)."""
    return runs_mm(s, s.cpus[c].curr, c, mm, config.rq_sync_lazy)


def run_handler(config: Config, s: KState, c: int, handler: str, arg: int) -> KState:
    """The effect of an IPI handler on CPU ``c``.

    ``ipi_sync_rq_state`` returns at once unless ``current->mm`` is the mm (or, with the
    ``rq_sync_lazy`` candidate fix, the CPU runs a kernel thread whose lazy active_mm is the mm).
    """
    if handler == "ipi_sync_rq_state":
        if not sync_rq_state_applies(config, s, c, arg):
            return s
        s = with_cpu(s, c, rq_state=s.mms[arg].state)
    s = smp_mb(s, c)
    if handler == "ipi_sync_core":
        s = with_cpu(s, c, stale=False)  # sync_core_before_usermode(): sync right away
    return s


def handle_ipis(setup: Setup, s: KState, c: int):
    """CPU ``c`` takes one pending IPI (never in the middle of a context switch)."""
    cpu = s.cpus[c]
    if cpu.sw is not None:
        return
    layout = setup.layouts[s.scenario]
    for i, (handler, caller, arg) in enumerate(cpu.ipis):
        if i and cpu.ipis[i - 1] == cpu.ipis[i]:
            continue
        ns = with_cpu(s, c, ipis=cpu.ipis[:i] + cpu.ipis[i + 1:])
        ns = run_handler(setup.config, ns, c, handler, arg)
        # what ipi_sync_rq_state did is part of its step, so that nothing downstream derives it again
        did = {"synced": sync_rq_state_applies(setup.config, s, c, arg)} if handler == "ipi_sync_rq_state" else {}
        yield step(handler, cpu=c, caller=layout.task_name(caller), curr=layout.task_name(cpu.curr), **did), ns
