"""The live probe's scenarios, and what the model predicts for each.

A probe scenario is a script: threads of named processes, each pinned to
one CPU, and steps that a controller performs one at a time on the real
kernel (``spin``: the thread runs in user mode; ``block``: it sleeps, so its
CPU goes idle and keeps the thread's mm as its lazy ``active_mm``; ``call``
and ``measure``: it calls membarrier() once, or many times while the CAL row
of /proc/interrupts is read around the calls; ``exit``: it exits).
:mod:`membarrier_spec.syscall.probe_live` runs a script on the kernel.

The prediction comes from the concurrency model itself.  The script becomes
a :class:`~membarrier_spec.model.workloads.Workload` (one task per thread, its
membarrier calls and exit as its program), and a director walks the model
from its initial state taking, at each script step, the model's own enabled
actions that the step means: ``schedule`` (``__schedule()``) of the thread and the switch's
steps for ``spin``, ``schedule`` of the idle task for ``block``,
``sys_membarrier`` and every step of the call (the target CPUs handle their
IPIs at once) for ``call``.  Between steps the hardware settles (every
``drain`` and ``propagate`` is taken), as a real machine has long done by
the time the controller moves on.  The CPUs named in the call's
``smp_call_function_many`` step are the prediction; which ones get an IPI
depends on ``rq->membarrier_state`` and ``rq->curr`` exactly as the preset's
model computes them, so mainline and each candidate fix predict differently
where the lazy return matters.

What the director gives up: it never takes a nondeterministic branch the
kernel could take (an allocation failure, a preemption in the middle of a
step); a step that leaves the model more than one way forward is an error,
not a guess.  A kernel thread (ksoftirqd, an RCU kthread) may preempt a
spinning thread on the live machine at any time; the director checks, per
preset, that such a preemption changes no prediction (it replays the script
with the CPU's idle task, a kernel thread, preempting each spinning thread
before every call and after every ``spin``) and reports it as
``Prediction.preemption_safe``.  Only then does the live side accept
samples in which a spinning thread was switched out and back in; a user
task on the watched CPU always disturbs a sample.
"""

from __future__ import annotations

import attrs

from ..abi import Cmd, ret_name
from ..errors import MembarrierSpecError
from ..model.interface import Model
from ..model.presets import CANDIDATE_FIXES, preset_config
from ..model.state import KState, Step
from ..model.workloads import EXIT, TaskSpec, Workload, membarrier

# The presets whose predictions the probe reports: the kernel as written, then the candidate fixes.
PROBE_PRESETS = ("mainline", *CANDIDATE_FIXES)

OPS = ("spin", "block", "call", "measure", "exit")


@attrs.frozen
class Thread:
    name: str
    process: str
    cpu: int


@attrs.frozen
class ScriptStep:
    op: str  # one of OPS
    thread: str
    cmd: int = 0

    def __str__(self) -> str:
        return f"{self.op} {self.thread}" + (f" {Cmd(self.cmd).name}" if self.op in ("call", "measure") else "")


@attrs.frozen
class Scenario:
    """A probe script: its threads, its steps, and the CPU whose IPIs the ``measure`` steps count."""

    name: str
    story: str
    threads: tuple[Thread, ...]
    steps: tuple[ScriptStep, ...]
    watch: int = 1

    def thread(self, name: str) -> Thread:
        for t in self.threads:
            if t.name == name:
                return t
        raise MembarrierSpecError(f"probe scenario {self.name}: unknown thread {name}")


def _s(op: str, thread: str, cmd: Cmd | int = 0) -> ScriptStep:
    return ScriptStep(op, thread, int(cmd))


# Process X's thread on CPU 1 spins and blocks first, so that CPU 1's lazy active_mm is X, not B: the
# scenario then controls what CPU 1 did before B's thread arrives (threads start on their CPU and block).
_LAZY_X = (_s("spin", "X"), _s("block", "X"))
_A, _M, _T1, _X = (Thread("A", "A", 0), Thread("M", "B", 0), Thread("T1", "B", 1), Thread("X", "X", 1))

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("private_running",
             "B registers PRIVATE_EXPEDITED; its thread T1 spins on CPU 1; M calls PRIVATE_EXPEDITED",
             (_M, _T1),
             (_s("call", "M", Cmd.REGISTER_PRIVATE_EXPEDITED), _s("spin", "T1"),
              _s("measure", "M", Cmd.PRIVATE_EXPEDITED), _s("block", "T1"))),
    Scenario("private_blocked",
             "B registers PRIVATE_EXPEDITED; T1 is blocked (CPU 1 idle, B its lazy mm); M calls "
             "PRIVATE_EXPEDITED: no IPI is owed (NoSpuriousIPI)",
             (_M, _T1),
             (_s("call", "M", Cmd.REGISTER_PRIVATE_EXPEDITED), _s("spin", "T1"), _s("block", "T1"),
              _s("measure", "M", Cmd.PRIVATE_EXPEDITED))),
    Scenario("global_running",
             "CPU 1 last ran process X; B registers GLOBAL_EXPEDITED; T1 wakes on CPU 1 and spins; A calls "
             "GLOBAL_EXPEDITED",
             (_A, _M, _T1, _X),
             _LAZY_X + (_s("call", "M", Cmd.REGISTER_GLOBAL_EXPEDITED), _s("spin", "T1"),
                        _s("measure", "A", Cmd.GLOBAL_EXPEDITED), _s("block", "T1"))),
    Scenario("global_unregistered",
             "B never registers; T1 spins on CPU 1; A calls GLOBAL_EXPEDITED: no IPI is owed",
             (_A, _M, _T1, _X),
             _LAZY_X + (_s("spin", "T1"), _s("measure", "A", Cmd.GLOBAL_EXPEDITED), _s("block", "T1"))),
    Scenario("global_lazy",
             "the lazy return: T1 blocks, so CPU 1 idles with B as its lazy mm; B registers GLOBAL_EXPEDITED; "
             "T1 wakes on CPU 1 (idle -> same mm: membarrier_switch_mm() returns early) and spins; A calls "
             "GLOBAL_EXPEDITED",
             (_A, _M, _T1),
             (_s("spin", "T1"), _s("block", "T1"), _s("call", "M", Cmd.REGISTER_GLOBAL_EXPEDITED),
              _s("spin", "T1"), _s("measure", "A", Cmd.GLOBAL_EXPEDITED), _s("block", "T1"))),
    Scenario("global_exit",
             "the lazy return after exit_mm(): B registers GLOBAL_EXPEDITED; its thread T3 runs on CPU 1 and "
             "exits (exit_mm() writes 0 to rq->membarrier_state, B stays the lazy mm); T1 wakes on CPU 1 and "
             "spins; A calls GLOBAL_EXPEDITED",
             (_A, _M, Thread("T3", "B", 1), _T1, _X),
             _LAZY_X + (_s("call", "M", Cmd.REGISTER_GLOBAL_EXPEDITED), _s("spin", "T3"), _s("exit", "T3"),
                        _s("spin", "T1"), _s("measure", "A", Cmd.GLOBAL_EXPEDITED), _s("block", "T1"))),
    Scenario("sync_core",
             "B registers PRIVATE_EXPEDITED_SYNC_CORE; T1 spins on CPU 1; M calls PRIVATE_EXPEDITED_SYNC_CORE",
             (_M, _T1),
             (_s("call", "M", Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE), _s("spin", "T1"),
              _s("measure", "M", Cmd.PRIVATE_EXPEDITED_SYNC_CORE), _s("block", "T1"))),
)}


def validate(scenario: Scenario) -> None:
    """A script the director and the worker can both run: known threads, a sensible order of steps."""
    names = [t.name for t in scenario.threads]
    if len(set(names)) != len(names):
        raise MembarrierSpecError(f"probe scenario {scenario.name}: duplicate thread names")
    running: set[str] = set()
    gone: set[str] = set()
    for st in scenario.steps:
        if st.op not in OPS:
            raise MembarrierSpecError(f"probe scenario {scenario.name}: unknown op {st.op!r}")
        scenario.thread(st.thread)
        if st.thread in gone:
            raise MembarrierSpecError(f"probe scenario {scenario.name}: {st} after the thread exited")
        if st.op == "spin":
            if st.thread in running:
                raise MembarrierSpecError(f"probe scenario {scenario.name}: {st}, but it already spins")
            cpu = scenario.thread(st.thread).cpu
            if any(scenario.thread(r).cpu == cpu for r in running):
                raise MembarrierSpecError(f"probe scenario {scenario.name}: {st}, but CPU {cpu} is taken")
            running.add(st.thread)
        elif st.op == "block":
            if st.thread not in running:
                raise MembarrierSpecError(f"probe scenario {scenario.name}: {st}, but it does not spin")
            running.discard(st.thread)
        elif st.op == "exit":
            running.discard(st.thread)
            gone.add(st.thread)
        elif st.thread not in running:
            cpu = scenario.thread(st.thread).cpu
            if any(scenario.thread(r).cpu == cpu for r in running):
                raise MembarrierSpecError(f"probe scenario {scenario.name}: {st} must wake its thread, but "
                                          f"CPU {cpu} is taken by a spinning thread")


# --- the model's prediction -------------------------------------------------------------------------------

@attrs.frozen
class Prediction:
    """What the model says each step does: the return value of calls, and the CPUs a call interrupts."""

    preset: str
    returns: tuple[int | None, ...]        # per script step (None for spin/block/exit)
    ipi_cpus: tuple[tuple[int, ...] | None, ...]  # per script step: CPUs other than the caller's
    preemption_safe: bool = True  # a kernel thread preempting a spinning thread changes none of the above


def workload_of(scenario: Scenario) -> Workload:
    """The script as a model workload: one task per thread, its membarrier calls and exit as its program."""
    programs: dict[str, list] = {t.name: [] for t in scenario.threads}
    for st in scenario.steps:
        if st.op in ("call", "measure"):
            programs[st.thread].append(membarrier(Cmd(st.cmd), 0))
        elif st.op == "exit":
            programs[st.thread].append(EXIT)
    tasks = tuple(TaskSpec(t.name, t.process, tuple(programs[t.name]), cpus=f"cpu{t.cpu}")
                  for t in scenario.threads)
    return Workload(f"probe_{scenario.name}", scenario.story, tasks)


def predict(scenario: Scenario, preset: str) -> Prediction:
    """Walk ``preset``'s model through ``scenario`` and record what each step returns and interrupts."""
    validate(scenario)
    ncpus = 1 + max(t.cpu for t in scenario.threads)
    config = preset_config(preset).evolve(online_cpus=max(2, ncpus), inject_alloc_failure=False)
    model = Model(config, (workload_of(scenario),))
    plain = _walk(model, scenario, preempt=False)
    preempted = _walk(model, scenario, preempt=True)
    return Prediction(preset, plain[0], plain[1], preemption_safe=plain == preempted)


def _walk(model: Model, scenario: Scenario, preempt: bool) -> tuple[tuple, tuple]:
    director = _Director(model, scenario)
    returns, ipis = [], []
    for st in scenario.steps:
        if preempt and st.op in ("call", "measure"):
            director.preempt_spinning()
        ret, cpus = director.run(st)
        if preempt and st.op == "spin":
            director.preempt_spinning()
        returns.append(ret)
        ipis.append(cpus)
    return tuple(returns), tuple(ipis)


class _Director:
    """Takes the model's own enabled actions that a script step means, one at a time."""

    def __init__(self, model: Model, scenario: Scenario):
        self.model = model
        self.scenario = scenario
        self.layout = model.setup.layouts[0]
        (self.state,) = model.initial_states()
        self.settle()

    def fail(self, why: str):
        raise MembarrierSpecError(f"probe scenario {self.scenario.name} under {self.model.config}: {why}")

    def take(self, want) -> Step:
        """Take the one enabled action that ``want(step)`` accepts."""
        found = [(st, ns) for st, ns in self.model.successors(self.state) if want(st)]
        if len(found) != 1:
            self.fail(f"expected one matching action, found {[str(st) for st, _ in found] or 'none'}")
        self.state = found[0][1]
        return found[0][0]

    def settle(self) -> None:
        """Every pending store drains and every CPU's view catches up (hardware actions only)."""
        while True:
            hw = [ns for st, ns in self.model.successors(self.state) if st.action in ("drain", "propagate")]
            if not hw:
                return
            self.state = hw[0]

    def switch(self, cpu: int, nxt: str) -> None:
        """``schedule`` on ``cpu`` to ``nxt``, then every step of that context switch."""
        self.take(lambda st: st.action == "schedule" and st.arg_dict()["cpu"] == cpu
                  and st.arg_dict()["next"] == nxt)
        while self.state.cpus[cpu].sw is not None:
            self.take(lambda st: st.arg_dict().get("cpu") == cpu and st.action not in ("drain", "propagate"))
        self.settle()

    def preempt_spinning(self) -> None:
        """Each CPU that runs a script thread runs its idle task (a kernel thread) once, then the thread again."""
        for cpu in range(len(self.state.cpus)):
            t = self.curr(cpu)
            if t != self.layout.task_name(self.layout.idle(cpu)):
                self.switch(cpu, self.layout.task_name(self.layout.idle(cpu)))
                self.switch(cpu, t)

    def curr(self, cpu: int) -> str:
        return self.layout.task_name(self.state.cpus[cpu].curr)

    def run(self, st: ScriptStep) -> tuple[int | None, tuple[int, ...] | None]:
        cpu = self.scenario.thread(st.thread).cpu
        idle = self.layout.task_name(self.layout.idle(cpu))
        if st.op == "spin":
            self.switch(cpu, st.thread)
            return None, None
        if st.op == "block":
            self.switch(cpu, idle)
            return None, None
        woken = self.curr(cpu) != st.thread
        if woken:
            self.switch(cpu, st.thread)
        if st.op == "exit":
            self.take(lambda s: s.action == "exit_mm" and s.arg_dict()["task"] == st.thread)
            self.settle()
            self.switch(cpu, idle)
            return None, None
        ret, cpus = self.call(cpu, st)
        if woken:
            self.switch(cpu, idle)
        return ret, cpus

    def call(self, cpu: int, st: ScriptStep) -> tuple[int, tuple[int, ...]]:
        """One membarrier() call by the thread on ``cpu``; IPIs are handled as soon as they are sent."""
        t = self.layout.task_index(st.thread)
        first = self.take(lambda s: s.action == "sys_membarrier" and s.arg_dict()["task"] == st.thread)
        targets: tuple[int, ...] = ()
        if "returns" not in first.arg_dict():
            while self.state.tasks[t].call is not None:
                pending = [c for c, p in enumerate(self.state.cpus) if p.ipis and c != cpu]
                if pending:
                    self.take(lambda s: s.arg_dict().get("cpu") == pending[0] and s.arg_dict().get("caller")
                              == st.thread)
                    continue
                taken = self.take(lambda s: s.arg_dict().get("task") == st.thread and s.action not in
                                  ("drain", "propagate"))
                if taken.action == "smp_call_function_many" and taken.arg_dict()["handler"] != "ipi_sync_rq_state":
                    cpus = taken.arg_dict()["cpus"]
                    targets = tuple(int(c) for c in cpus.split(",") if c != "none" and int(c) != cpu)
        self.settle()
        return _returned(self.state, t), targets


def _returned(s: KState, t: int) -> int:
    """The value the task's last membarrier() call left in its register 0."""
    return s.tasks[t].regs[0]


def describe_return(value: int | None) -> str:
    return "-" if value is None else ret_name(value)
