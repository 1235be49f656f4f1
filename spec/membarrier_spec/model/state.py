"""The concurrency layer's state: CPUs and runqueues, tasks, mms, weak memory, ghosts.

Everything is a frozen attrs value made of ints, bools, strings and tuples,
so that a state hashes quickly and maps one to one onto the TLA+ variables.
What never changes during a run (the workload's programs, which CPU a task
may use, names) lives in :class:`Setup`, built once from the Config.
"""

from __future__ import annotations

import attrs

from ..errors import ConfigError
from . import memory, syscalls
from .config import Config
from .memory import NONE, replace
from .workloads import SCENARIOS, USER_VARS, VAR_NAMES, TaskSpec, Workload

NO_MM = -1
NO_TASK = -1

# Ghost bits: one per invariant that an action detects as it happens.
GHOSTS = (
    "stale_code_executed",       # NoStaleCode
    "freed_mm_read",             # NoUseAfterFree
    "spurious_ipi",              # NoSpuriousIPI
    "rq_lock_taken",             # NoRqLock
    "thread_targeted",           # BoundedByCpus
    "sched_mb_unregistered",     # NoSchedOverheadUnreg
    "expedited_may_sleep",       # ExpeditedNeverBlocks
    "registration_not_atomic",   # RegistrationAtomic
    "sync_core_returned",        # not a violation: PRIVATE_EXPEDITED_SYNC_CORE has returned 0
)
GHOST = {name: 1 << i for i, name in enumerate(GHOSTS)}


@attrs.frozen(cache_hash=True)
class Switch:
    """A context switch in progress on a CPU (interrupts off: no IPI is handled meanwhile)."""

    prev: int
    next: int
    step: str
    prev_mm: int = NO_MM  # the lazy mm finish_task_switch() will mmdrop()


@attrs.frozen(cache_hash=True)
class Cpu:
    """A CPU and its runqueue.

    ``curr`` is the task this CPU runs (its own, always-current idea of
    ``rq->curr``); the *shared* ``rq->curr`` that other CPUs read lives in
    weak memory.  ``stale``: the instruction stream may hold code older than
    the last ``modify_code`` (cleared by a core-serializing event).
    """

    curr: int
    active_mm: int
    rq_state: int  # rq->membarrier_state
    sbuf: tuple[int, ...]
    view: tuple[int, ...]
    sw: Switch | None = None
    ipis: tuple[tuple[str, int, int], ...] = ()  # pending (handler, caller task, argument)
    stale: bool = False


@attrs.frozen(cache_hash=True)
class Call:
    """A membarrier() call in progress: its plan and where the kernel is in it."""

    cmd: int
    plan: syscalls.Plan
    step: str
    reg: int
    cursor: int = 0     # next CPU (or task) the target loop looks at
    mask: int = 0       # tmpmask: CPUs to interrupt
    seen: int = 0       # CPUs read as running the caller's mm
    mm_ptr: int = NO_MM  # racy-load thread 2019: the mm pointer read from rq->curr->mm
    saved: int = 0      # mm->membarrier_state at entry (RegistrationAtomic)
    locked: bool = False  # holds membarrier_ipi_mutex (SERIALIZE_IPI)


@attrs.frozen(cache_hash=True)
class Task:
    """A task: ``mm`` is ``task->mm`` (NO_MM for kernel threads and after exit_mm)."""

    mm: int
    pc: int = 0
    regs: tuple[int, ...] = ()
    call: Call | None = None
    dead: bool = False
    tif: bool = False  # BoF 2017 C: needs a barrier before it next returns to user


@attrs.frozen(cache_hash=True)
class Mm:
    """An mm_struct: ``membarrier_state``, ``mm_users``, lazy references (``mm_count``), freed."""

    state: int = 0
    users: int = 0
    lazy: int = 0
    freed: bool = False


@attrs.frozen(cache_hash=True)
class KState:
    """One state of the concurrency layer."""

    scenario: int
    cpus: tuple[Cpu, ...]
    tasks: tuple[Task, ...]
    mms: tuple[Mm, ...]
    mem: tuple[int, ...]
    ghost: int = 0


@attrs.frozen
class Layout:
    """The static part of one scenario: task specs (workload tasks, then one idle task per CPU)."""

    workload: Workload
    specs: tuple[TaskSpec, ...]
    mm_names: tuple[str, ...]
    ncpus: int

    def task_name(self, t: int) -> str:
        return self.specs[t].name if t != NO_TASK else "-"

    def mm_name(self, m: int) -> str:
        return self.mm_names[m] if m != NO_MM else "NULL"

    def task_index(self, name: str) -> int:
        return [s.name for s in self.specs].index(name)

    def idle(self, cpu: int) -> int:
        return len(self.workload.tasks) + cpu


def var_names(ncpus: int) -> tuple[str, ...]:
    """Weak-memory variables: the litmus variables, then ``rq->curr`` of each CPU."""
    return VAR_NAMES + tuple(f"rq[{c}]->curr" for c in range(ncpus))


def rq_curr_var(cpu: int) -> int:
    return USER_VARS + cpu


@attrs.frozen
class Setup:
    """Everything a run needs that is not state: the Config and each scenario's layout."""

    config: Config
    layouts: tuple[Layout, ...]

    @classmethod
    def from_config(cls, config: Config, workloads: tuple[Workload, ...] | None = None) -> "Setup":
        """The layouts of ``config``'s scenarios, or of ``workloads`` when given (the live probe's scripts)."""
        if config.online_cpus < 2:
            raise ConfigError("online_cpus must be at least 2 for the concurrency layer (with one CPU "
                              "membarrier returns at once; the syscall layer covers it)")
        if config.online_cpus > 4:
            raise ConfigError("online_cpus must be at most 4 for exhaustive exploration")
        layouts = []
        for workload in workloads or tuple(SCENARIOS[name](config) for name in config.scenarios):
            idle = tuple(TaskSpec(f"idle{c}", None, (), cpus="cpu0" if c == 0 else f"idle{c}")
                         for c in range(config.online_cpus))
            layouts.append(Layout(workload, workload.tasks + idle, workload.mms, config.online_cpus))
        return cls(config, tuple(layouts))

    def may_run_on(self, layout: Layout, task: int, cpu: int) -> bool:
        spec = layout.specs[task]
        if task >= len(layout.workload.tasks):  # idle task
            return task - len(layout.workload.tasks) == cpu
        return spec.may_run_on(cpu)

    def initial_states(self) -> list[KState]:
        return [self._initial(i, layout) for i, layout in enumerate(self.layouts)]

    def _initial(self, index: int, layout: Layout) -> KState:
        ncpus = layout.ncpus
        mm_index = {name: i for i, name in enumerate(layout.mm_names)}
        curr = [layout.idle(c) for c in range(ncpus)]
        for t, spec in enumerate(layout.workload.tasks):
            if spec.start_cpu is not None:
                if spec.start_cpu >= ncpus:
                    raise ConfigError(f"scenario {layout.workload.name}: task {spec.name} starts on CPU "
                                      f"{spec.start_cpu} but only {ncpus} CPUs are online")
                curr[spec.start_cpu] = t
        tasks = tuple(Task(mm=mm_index[s.mm] if s.mm else NO_MM, regs=(0,) * s.regs) for s in layout.specs)
        users = [0] * len(layout.mm_names)
        for s in layout.specs:
            if s.mm is not None:
                users[mm_index[s.mm]] += 1
        mem = (0,) * USER_VARS + tuple(curr)
        cpus = []
        lazy = [0] * len(layout.mm_names)
        for c in range(ncpus):
            active = tasks[curr[c]].mm
            cpus.append(Cpu(curr=curr[c], active_mm=active, rq_state=0, sbuf=(NONE,) * len(mem), view=mem))
        mms = tuple(Mm(users=users[m], lazy=lazy[m]) for m in range(len(layout.mm_names)))
        return KState(index, tuple(cpus), tasks, mms, mem)


# --- small pure editors used by every action module ---

_FIELDS: dict[type, tuple[str, ...]] = {}


def evolve(obj, **changes):
    """``attrs.evolve`` for our frozen classes, by positional construction (the explorer's hot path)."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(a.name for a in attrs.fields(cls))
    return cls(*[changes[n] if n in changes else getattr(obj, n) for n in names])


def with_cpu(s: KState, c: int, **changes) -> KState:
    return KState(s.scenario, replace(s.cpus, c, evolve(s.cpus[c], **changes)), s.tasks, s.mms, s.mem, s.ghost)


def with_task(s: KState, t: int, **changes) -> KState:
    return KState(s.scenario, s.cpus, replace(s.tasks, t, evolve(s.tasks[t], **changes)), s.mms, s.mem, s.ghost)


def with_mm(s: KState, m: int, **changes) -> KState:
    return KState(s.scenario, s.cpus, s.tasks, replace(s.mms, m, evolve(s.mms[m], **changes)), s.mem, s.ghost)


def with_ghost(s: KState, name: str) -> KState:
    bit = GHOST[name]
    return s if s.ghost & bit else KState(s.scenario, s.cpus, s.tasks, s.mms, s.mem, s.ghost | bit)


def smp_mb(s: KState, c: int) -> KState:
    """A full barrier on CPU ``c``."""
    cpu = s.cpus[c]
    mem, sbuf, view = memory.smp_mb(s.mem, cpu.sbuf)
    if mem == s.mem and sbuf == cpu.sbuf and view == cpu.view:
        return s
    return KState(s.scenario, replace(s.cpus, c, evolve(cpu, sbuf=sbuf, view=view)), s.tasks, s.mms, mem, s.ghost)


def mm_of_curr(s: KState, c: int) -> int:
    """``current->mm`` on CPU ``c`` (NO_MM for a kernel thread)."""
    return s.tasks[s.cpus[c].curr].mm


def ipi_mutex_free(s: KState) -> bool:
    """No membarrier() call holds membarrier_ipi_mutex."""
    return not any(t.call is not None and t.call.locked for t in s.tasks)


def registered(mm: Mm | None) -> bool:
    """The mm has any membarrier state bit (a registration has at least begun)."""
    return mm is not None and mm.state != 0


# Display text of the actions whose name is not the kernel's own words.  An action's name is the same
# everywhere (the Python step, the TLA+ action, traces, pictures); only the text shown to people differs.
ACTION_TEXT = {
    "schedule": "__schedule",                                # not a TLA+ identifier
    "smp_mb_entry": "smp_mb (membarrier entry)",
    "after_rq_curr_mb": "smp_mb (after the rq->curr store)",  # BoF 2017, resolution D
}


def action_text(action: str) -> str:
    return ACTION_TEXT.get(action, action)


@attrs.frozen
class Step:
    """An action taken: its name (the TLA+ action's) and arguments (as sorted key/value pairs)."""

    action: str
    args: tuple[tuple[str, object], ...] = ()

    @property
    def text(self) -> str:
        return action_text(self.action)

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.text}({inner})"

    def arg_dict(self) -> dict:
        return dict(self.args)


def step(action: str, **args) -> Step:
    return Step(action, tuple(sorted(args.items())))
