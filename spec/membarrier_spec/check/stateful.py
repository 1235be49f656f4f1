"""Hypothesis stateful exploration: random interleavings of a preset's enabled actions.

``machine_for(config)`` returns a ``RuleBasedStateMachine`` whose single rule
takes one enabled action of the concurrency model (Hypothesis picks which)
and whose invariants are the properties the preset checks.  Point it at your
own preset from a test file::

    from membarrier_spec import preset
    from membarrier_spec.check.stateful import machine_for

    TestMyVariant = machine_for(preset("mainline").config.evolve(entry_mb=False),
                                properties=("Ordering",)).TestCase

A failing run prints the shrunk interleaving as the list of steps taken;
:func:`shrink` shortens a violating run much faster than Hypothesis's generic
shrinker by deleting steps and replaying the model directly.
Exhaustive answers come from the explorer; this is the quick, randomized
check that also scales to sizes the explorer cannot finish.
"""

from __future__ import annotations

from typing import Iterable

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ..model.config import Config
from ..model.interface import Model
from ..model.properties import BY_NAME
from .explore import checked_invariants


class PropertyViolation(AssertionError):
    """An invariant failed; the message names it and lists the interleaving that led there.

    ``initial`` and ``steps`` hold the run itself, for :func:`shrink`.
    """

    def __init__(self, message: str, prop: str, initial, steps: tuple):
        super().__init__(message)
        self.prop, self.initial, self.steps = prop, initial, steps


def replay(model: Model, initial, steps) -> tuple[list, list]:
    """Replay ``steps`` from ``initial``, skipping any step not enabled where it comes: (steps taken, states)."""
    taken, states, s = [], [initial], initial
    for wanted in steps:
        for st_, ns in model.successors(s):
            if st_ == wanted:
                s = ns
                taken.append(wanted)
                states.append(s)
                break
    return taken, states


def shrink(model: Model, prop: str, initial, steps) -> list:
    """A shorter interleaving that still breaks ``prop``: delete chunks of steps while the replay fails.

    Much cheaper than Hypothesis's generic shrinker here, because it replays actions directly.
    """
    check = BY_NAME[prop].check

    def fails(candidate) -> list | None:
        taken, states = replay(model, initial, candidate)
        for i, s in enumerate(states):
            if not check(model.setup, s):
                return taken[:i]  # the steps actually taken, up to the violation
        return None

    steps = fails(list(steps))
    assert steps is not None, "the run to shrink does not break the property"
    chunk = max(1, len(steps) // 2)
    while chunk >= 1:
        i = 0
        while i < len(steps):
            shorter = fails(steps[:i] + steps[i + chunk:])
            if shorter is not None and len(shorter) < len(steps):
                steps = shorter
            else:
                i += chunk
        chunk //= 2
    return steps


HARDWARE = ("drain", "propagate")


def ordered_successors(model: Model, state) -> list:
    """Enabled actions, program and kernel steps first: Hypothesis prefers early choices, so stores tend
    to stay buffered and views to lag, which is where weak-memory violations live."""
    succs = list(model.successors(state))
    return [x for x in succs if x[0].action not in HARDWARE] + [x for x in succs if x[0].action in HARDWARE]


def _key(step) -> tuple:
    args = step.arg_dict()
    return step.action, args["cpu"], args["var"]


def machine_for(config: Config, properties: Iterable[str] | None = None, *, max_examples: int = 200,
                step_count: int = 80) -> type[RuleBasedStateMachine]:
    """A RuleBasedStateMachine exploring ``Model(config)``, checking ``properties`` (default: all invariants)."""
    model = Model(config)
    checks = checked_invariants(model, properties)
    initial = model.initial_states()
    layout_tasks = sorted({spec.name for layout in model.setup.layouts for spec in layout.specs})
    switch_keys = sorted((c, t) for c in range(config.online_cpus) for t in layout_tasks)
    hardware_keys = sorted((a, c, v) for a in HARDWARE for c in range(config.online_cpus) for v in model.var_names)

    class MembarrierMachine(RuleBasedStateMachine):
        @initialize(which=st.integers(0, len(initial) - 1), data=st.data())
        def start(self, which, data):
            self.state = self.initial = initial[which]
            self.steps = []
            # Swarm testing: each run allows only some (cpu, variable) drains and propagations, so some
            # stores stay buffered and some views lag until a barrier -- a subset of the real behaviours.
            self.hardware = data.draw(st.sets(st.sampled_from(hardware_keys)), label="hardware allowed")
            # ... and only some context switches (cpu, next task): fewer ways to wander, deeper runs.
            self.switches = data.draw(st.sets(st.sampled_from(switch_keys)), label="switches allowed")
            self.trace = [f"Init(scenario={model.setup.layouts[self.state.scenario].workload.name})"]

        @rule(data=st.data())
        def take_an_enabled_action(self, data):
            # One rule call takes a short run of steps with the same choice, so that a program can
            # advance several steps per draw; shrinking heads for one step of the first choice.
            choice = data.draw(st.integers(0, 63), label="action")
            for _ in range(data.draw(st.integers(1, 8), label="repeat")):
                succs = [x for x in ordered_successors(model, self.state) if self._allowed(x[0])]
                if not succs:
                    return  # every program finished and the hardware is quiescent
                step, self.state = succs[choice % len(succs)]
                self.trace.append(str(step))
                self.steps.append(step)
                self.properties_hold()

        def _allowed(self, step) -> bool:
            if step.action in HARDWARE:
                return _key(step) in self.hardware
            if step.action == "schedule":
                args = step.arg_dict()
                return (args["cpu"], args["next"]) in self.switches
            return True

        @invariant()
        def properties_hold(self):
            # Hypothesis checks no invariant before the initialize rule (start) has run.
            for prop in checks:
                if not prop.check(model.setup, self.state):
                    steps = "\n  ".join(self.trace)
                    raise PropertyViolation(f"{prop.name} violated after {len(self.trace) - 1} steps:\n  {steps}",
                                            prop.name, self.initial, tuple(self.steps))

    MembarrierMachine.TestCase.settings = settings(max_examples=max_examples, stateful_step_count=step_count,
                                                   deadline=None)
    MembarrierMachine.__name__ = MembarrierMachine.__qualname__ = "MembarrierMachine"
    return MembarrierMachine
