"""The rules of membarrier(2), as pure functions shared by both model layers.

``sys_membarrier`` first validates its arguments and dispatches on ``cmd``
(:func:`decide`).  The answer is either an immediate return value (QUERY,
GET_REGISTRATIONS, -EINVAL, -EPERM, the single-user shortcut) or a *plan*: an
expedited barrier (:class:`Expedited`) or a registration (:class:`Register`).
The sequential layer runs a plan to completion in one step
(:func:`run_register`, :func:`run_expedited`); the concurrency layer runs the
same plan as a sequence of scheduler-visible steps.  Neither layer restates
these rules.
"""

from __future__ import annotations

import attrs

from ..abi import EINVAL, ENOMEM, EPERM, EWOULDBLOCK, FLAG_CPU, REGISTRATION_PAIRS, Cmd, State, c_int, c_uint
from .config import Config


@attrs.frozen
class Return:
    """The call returns ``value`` without touching any other CPU."""

    value: int


@attrs.frozen
class Expedited:
    """An expedited barrier: IPI the CPUs running the target mm(s), between two smp_mb().

    ``scope`` is ``global`` (every CPU whose runqueue is GLOBAL_EXPEDITED) or
    ``private`` (every CPU whose ``rq->curr->mm`` is the caller's mm).
    ``ipi`` names the handler: ``ipi_mb``, ``ipi_sync_core`` or ``ipi_rseq``.
    ``cpu_id`` >= 0 targets one CPU (RSEQ with FLAG_CPU) and needs no cpumask.
    ``skip_self``: the caller's own CPU is not interrupted (all but SYNC_CORE).
    """

    scope: str
    ipi: str
    cpu_id: int = -1
    skip_self: bool = True

    @property
    def needs_cpumask(self) -> bool:
        return self.cpu_id < 0


@attrs.frozen
class Register:
    """A registration: set ``set_bits``, sync the runqueues, then set ``ready_bit``."""

    set_bits: State
    ready_bit: State


@attrs.frozen
class SynchronizeRcu:
    """MEMBARRIER_CMD_GLOBAL: wait for an RCU grace period (a full barrier on every CPU), return 0."""


Plan = Return | Expedited | Register | SynchronizeRcu


def query_mask(config: Config) -> int:
    """MEMBARRIER_CMD_QUERY: the supported commands on this kernel."""
    mask = (Cmd.GLOBAL | Cmd.GLOBAL_EXPEDITED | Cmd.REGISTER_GLOBAL_EXPEDITED | Cmd.PRIVATE_EXPEDITED
            | Cmd.REGISTER_PRIVATE_EXPEDITED | Cmd.GET_REGISTRATIONS)
    if config.arch_sync_core:
        mask |= Cmd.PRIVATE_EXPEDITED_SYNC_CORE | Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
    if config.rseq:
        mask |= Cmd.PRIVATE_EXPEDITED_RSEQ | Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ
    if config.nohz_full:
        mask &= ~Cmd.GLOBAL
    return int(mask)


def registrations(membarrier_state: int) -> int:
    """MEMBARRIER_CMD_GET_REGISTRATIONS: a REGISTER command for each pair with either bit set."""
    mask = 0
    for bits, register_cmd in REGISTRATION_PAIRS:
        if membarrier_state & bits:
            mask |= register_cmd
    return int(mask)


def validate(cmd: int, flags: int) -> int | None:
    """The flags check, before dispatch: -EINVAL, or None when the flags are acceptable."""
    if cmd == Cmd.PRIVATE_EXPEDITED_RSEQ:
        return -EINVAL if flags not in (0, FLAG_CPU) else None
    return -EINVAL if flags else None


def decide(cmd: int, flags: int, cpu_id: int, *, membarrier_state: int, mm_users: int,
           config: Config) -> Plan:
    """``SYSCALL_DEFINE3(membarrier)`` up to the point where it touches other CPUs.

    Arguments are wrapped to their C types (int, unsigned int, int) first.
    """
    cmd, flags, cpu_id = c_int(cmd), c_uint(flags), c_int(cpu_id)
    bad = validate(cmd, flags)
    if bad is not None:
        return Return(bad)
    if not flags & FLAG_CPU:
        cpu_id = -1
    if cmd == Cmd.QUERY:
        return Return(query_mask(config))
    if cmd == Cmd.GLOBAL:
        if config.nohz_full:
            return Return(-EINVAL)
        return SynchronizeRcu() if config.online_cpus > 1 else Return(0)
    if cmd == Cmd.GLOBAL_EXPEDITED:
        if config.online_cpus == 1:
            return Return(0)
        return Expedited("global", "ipi_mb")
    if cmd == Cmd.GET_REGISTRATIONS:
        return Return(registrations(membarrier_state))
    if cmd == Cmd.REGISTER_GLOBAL_EXPEDITED:
        if membarrier_state & State.GLOBAL_EXPEDITED_READY:
            return Return(0)
        return Register(State.GLOBAL_EXPEDITED, State.GLOBAL_EXPEDITED_READY)
    private = {
        Cmd.PRIVATE_EXPEDITED: ("ipi_mb", State.PRIVATE_EXPEDITED_READY, True),
        Cmd.PRIVATE_EXPEDITED_SYNC_CORE: ("ipi_sync_core", State.PRIVATE_EXPEDITED_SYNC_CORE_READY,
                                          config.arch_sync_core),
        Cmd.PRIVATE_EXPEDITED_RSEQ: ("ipi_rseq", State.PRIVATE_EXPEDITED_RSEQ_READY, config.rseq),
    }
    if cmd in private:
        ipi, ready, available = private[cmd]
        if not available:
            return Return(-EINVAL)
        if config.require_registration and not membarrier_state & ready:
            return Return(-EPERM)
        sync_core = cmd == Cmd.PRIVATE_EXPEDITED_SYNC_CORE
        if not sync_core and (mm_users == 1 or config.online_cpus == 1):
            return Return(0)
        return Expedited("private", ipi, cpu_id=cpu_id,
                         skip_self=not sync_core or config.sync_core_skip_caller)
    register = {
        Cmd.REGISTER_PRIVATE_EXPEDITED: (State.PRIVATE_EXPEDITED, State.PRIVATE_EXPEDITED_READY, True),
        Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: (
            State.PRIVATE_EXPEDITED | State.PRIVATE_EXPEDITED_SYNC_CORE,
            State.PRIVATE_EXPEDITED_SYNC_CORE_READY, config.arch_sync_core),
        Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ: (
            State.PRIVATE_EXPEDITED | State.PRIVATE_EXPEDITED_RSEQ,
            State.PRIVATE_EXPEDITED_RSEQ_READY, config.rseq),
    }
    if cmd in register:
        set_bits, ready, available = register[cmd]
        if not available:
            return Return(-EINVAL)
        if membarrier_state & ready:
            return Return(0)
        return Register(set_bits, ready)
    return Return(-EINVAL)


def sync_needs_cpumask(mm_users: int, config: Config) -> bool:
    """sync_runqueues_membarrier_state allocates only with several mm users and CPUs."""
    return mm_users > 1 and config.online_cpus > 1


def cpumask_failure(config: Config) -> int | None:
    """What a failed cpumask allocation returns under the allocation policy (None: fall back, carry on)."""
    return {"gfp_kernel_enomem": -ENOMEM, "gfp_nowait_fallback": None, "ewouldblock": -EWOULDBLOCK}[
        config.alloc_policy]


def cpumask_may_sleep(config: Config) -> bool:
    """GFP_KERNEL may sleep; GFP_NOWAIT never does."""
    return config.alloc_policy == "gfp_kernel_enomem"


def run_register(plan: Register, membarrier_state: int, mm_users: int, config: Config,
                 alloc_fails: bool) -> tuple[int, int]:
    """A registration run without interleaving: (new membarrier_state, return value).

    Under ``gfp_kernel_enomem`` the non-READY bits are already set when the
    allocation fails (the kernel's order); under ``ewouldblock`` the mask is
    allocated before any bit is set, so a failure leaves the state as it was.
    """
    fails = alloc_fails and sync_needs_cpumask(mm_users, config)
    failure = cpumask_failure(config) if fails else None
    if failure is not None and config.alloc_policy == "ewouldblock":
        return membarrier_state, failure
    state = membarrier_state | plan.set_bits
    if failure is not None:
        return state, failure
    return state | plan.ready_bit, 0


def run_expedited(plan: Expedited, config: Config, alloc_fails: bool) -> int:
    """An expedited barrier run without interleaving: its return value."""
    if alloc_fails and plan.needs_cpumask:
        failure = cpumask_failure(config)
        if failure is not None:
            return failure
    return 0


def fork_state(membarrier_state: int, config: Config) -> int:
    """The child's mm state after fork(): copied (mainline dup_mm) or cleared (BoF 2017, E)."""
    return membarrier_state if config.fork_policy == "inherit" else 0


def plan_allocates(plan: Plan, mm_users: int, config: Config) -> bool:
    """Whether running ``plan`` makes a cpumask allocation (so an injected failure is consumed)."""
    if isinstance(plan, Expedited):
        return plan.needs_cpumask
    if isinstance(plan, Register):
        return sync_needs_cpumask(mm_users, config)
    return False
