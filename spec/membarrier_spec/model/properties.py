"""The properties membarrier must keep, each a named predicate over states.

Most invariants are detected by the action that would break them, which sets
a ghost bit (:data:`membarrier_spec.model.state.GHOSTS`); the predicate then reads
the bit.  ``Ordering``, ``RqStateCovers`` and ``RegistrationReportTruthful``
are predicates over the state itself; ``MembarrierReturns`` is checked over
the whole graph by the explorer; ``StableEinval`` over the syscall rules.
"""

from __future__ import annotations

import enum
from typing import Callable

import attrs

from ..abi import EPERM, READY_PARTNERS, REGISTRATION_PAIRS, Cmd
from . import syscalls
from .state import GHOST, NO_MM, KState, Setup


class Verdict(str, enum.Enum):
    """What a checker says of a property (a str, so JSON and the tables keep their words)."""

    HOLDS = "holds"
    VIOLATED = "violated"
    NOT_CHECKED = "not-checked"

    def __str__(self) -> str:
        return self.value


HOLDS, VIOLATED, NOT_CHECKED = Verdict.HOLDS, Verdict.VIOLATED, Verdict.NOT_CHECKED


class Kind(str, enum.Enum):
    """How a property is checked; the checkers dispatch on it, never on a property's name."""

    INVARIANT = "invariant"  # ``check(setup, state)`` holds in every reachable state
    LIVENESS = "liveness"    # from every reachable state, a state where ``check`` holds is reachable
    STATIC = "static"        # ``decide(config)``: a fact of the Config's syscall rules, no states needed

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Property:
    name: str
    kind: Kind
    doc: str
    check: Callable[[Setup, KState], bool] | None = None  # INVARIANT: the state is fine; LIVENESS: the goal
    table: str = ""  # its column in the verdict table, if any
    decide: Callable[..., bool] | None = None  # STATIC: holds for this Config


def _ghost(name: str) -> Callable[[Setup, KState], bool]:
    bit = GHOST[name]
    return lambda setup, s: not s.ghost & bit


def type_ok(setup: Setup, s: KState) -> bool:
    """Every variable in its domain."""
    layout = setup.layouts[s.scenario]
    ntasks, nmms = len(layout.specs), len(layout.mm_names)
    for cpu in s.cpus:
        if not 0 <= cpu.curr < ntasks or not -1 <= cpu.active_mm < nmms or not 0 <= cpu.rq_state < 256:
            return False
        if any(not -1 <= v < max(ntasks, 2) for v in cpu.sbuf + cpu.view):
            return False
    for task in s.tasks:
        if not -1 <= task.mm < nmms:
            return False
    return all(mm.users >= 0 and mm.lazy >= 0 for mm in s.mms)


def ordering(setup: Setup, s: KState) -> bool:
    """The forbidden litmus outcome (all its tasks finished, membarrier having returned 0) is not reached."""
    layout = setup.layouts[s.scenario]
    forbidden = layout.workload.forbidden
    if not forbidden:
        return True
    for name, reg, value in forbidden:
        t = layout.task_index(name)
        task = s.tasks[t]
        if task.pc < len(layout.specs[t].steps) or task.regs[reg] != value:
            return True
    return False


def rq_state_covers(setup: Setup, s: KState) -> bool:
    """Every CPU running a task of an mm with a READY bit has that bit's partner in rq->membarrier_state."""
    for cpu in s.cpus:
        if cpu.sw is not None:
            continue
        mm = s.tasks[cpu.curr].mm
        if mm == NO_MM:
            continue
        state = s.mms[mm].state
        for ready, partner in READY_PARTNERS:
            if state & ready and not cpu.rq_state & partner:
                return False
    return True


# The command each REGISTER_* command registers for (the generator tabulates decide() on these too).
COMMAND_OF_REGISTRATION = {
    Cmd.REGISTER_GLOBAL_EXPEDITED: Cmd.GLOBAL_EXPEDITED,
    Cmd.REGISTER_PRIVATE_EXPEDITED: Cmd.PRIVATE_EXPEDITED,
    Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: Cmd.PRIVATE_EXPEDITED_SYNC_CORE,
    Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ: Cmd.PRIVATE_EXPEDITED_RSEQ,
}


def registration_report_truthful(setup: Setup, s: KState) -> bool:
    """No mm for which GET_REGISTRATIONS reports REGISTER_X while command X returns -EPERM."""
    for mm in s.mms:
        if mm.freed or not mm.state:
            continue
        reported = syscalls.registrations(mm.state)
        for _, register_cmd in REGISTRATION_PAIRS:
            if not reported & register_cmd:
                continue
            plan = syscalls.decide(COMMAND_OF_REGISTRATION[register_cmd], 0, 0, membarrier_state=mm.state,
                                   mm_users=max(mm.users, 2), config=setup.config)
            if plan == syscalls.Return(-EPERM):
                return False
    return True


# What stable_einval asks syscalls.decide about (flags 0, cpu_id 0): QUERY, each command bit, and values
# that are no command; every mm->membarrier_state; a single- and a multi-threaded mm.  The TLA+ generator
# probes the same calls, so the spec's ASSUME StableEinval is this property.
STABLE_EINVAL_CMDS: tuple[int, ...] = (0, *(1 << i for i in range(12)), -1, 3, 1 << 31)
STABLE_EINVAL_STATES = range(256)
STABLE_EINVAL_USERS: tuple[int, ...] = (1, 2)


def stable_einval(config) -> bool:
    """For every command with flags 0, whether it returns -EINVAL does not depend on the mm's state or users."""
    for cmd in STABLE_EINVAL_CMDS:
        answers = set()
        for state in STABLE_EINVAL_STATES:
            for users in STABLE_EINVAL_USERS:
                plan = syscalls.decide(cmd, 0, 0, membarrier_state=state, mm_users=users, config=config)
                answers.add(isinstance(plan, syscalls.Return) and plan.value == -syscalls.EINVAL)
        if len(answers) > 1:
            return False
    return True


PROPERTIES: tuple[Property, ...] = (
    Property("TypeOK", Kind.INVARIANT, "Every variable is in its domain.", type_ok),
    Property("Ordering", Kind.INVARIANT,
             "No forbidden litmus outcome is reachable: once membarrier() has returned 0, the accesses it "
             "separates are ordered against every thread of the targeted mm(s).", ordering, "Ordering"),
    Property("NoStaleCode", Kind.INVARIANT,
             "After PRIVATE_EXPEDITED_SYNC_CORE returns, no thread of the mm executes the old instruction "
             "stream.", _ghost("stale_code_executed"), "NoStaleCode"),
    Property("NoUseAfterFree", Kind.INVARIANT, "Nothing reads an mm_struct after it was freed.",
             _ghost("freed_mm_read"), "NoUseAfterFree"),
    Property("RqStateCovers", Kind.INVARIANT,
             "Once a registration has returned 0, every CPU running that mm has the registered bits in "
             "rq->membarrier_state.", rq_state_covers, "RqStateCovers"),
    Property("RegistrationReportTruthful", Kind.INVARIANT,
             "If GET_REGISTRATIONS reports REGISTER_X, command X does not return -EPERM.",
             registration_report_truthful, "RegReportTruthful"),
    Property("RegistrationAtomic", Kind.INVARIANT,
             "A registration that returns an error leaves the mm's state bits as they were.",
             _ghost("registration_not_atomic"), "RegAtomic"),
    Property("NoSpuriousIPI", Kind.INVARIANT,
             "PRIVATE_EXPEDITED only interrupts CPUs it saw running the caller's mm.",
             _ghost("spurious_ipi"), "NoSpuriousIPI"),
    Property("NoRqLock", Kind.INVARIANT, "membarrier never takes a runqueue lock.", _ghost("rq_lock_taken"),
             "NoRqLock"),
    Property("BoundedByCpus", Kind.INVARIANT,
             "One membarrier call interacts with at most one target per CPU, never with each thread.",
             _ghost("thread_targeted"), "BoundedByCpus"),
    Property("NoSchedOverheadUnreg", Kind.INVARIANT,
             "A context switch between unregistered processes executes no barrier added for membarrier.",
             _ghost("sched_mb_unregistered"), "NoSchedOverheadUnreg"),
    Property("ExpeditedNeverBlocks", Kind.INVARIANT,
             "An expedited command never reaches a step that may sleep (the man page's promise).",
             _ghost("expedited_may_sleep"), "ExpeditedNeverBlocks"),
    Property("StableEinval", Kind.STATIC,
             "A command with flags 0 that returns -EINVAL always does, whatever the mm's state and users.",
             decide=lambda config: stable_einval(config)),
    Property("MembarrierReturns", Kind.LIVENESS,
             "Every membarrier call returns: from every reachable state, a state with no call in progress is "
             "reachable (TLA+: strong fairness of each CPU's actions).",
             lambda setup, s: not any(t.call is not None for t in s.tasks)),
)

BY_NAME = {p.name: p for p in PROPERTIES}
