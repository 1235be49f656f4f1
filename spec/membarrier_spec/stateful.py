"""Hypothesis stateful exploration: random interleavings of a preset's enabled actions.

``machine_for(config)`` returns a ``RuleBasedStateMachine`` whose single rule
takes one enabled action of the concurrency model (Hypothesis picks which)
and whose invariants are the properties the preset checks.  Point it at your
own preset from a test file::

    from membarrier_spec.stateful import machine_for
    from membarrier_spec import preset

    TestMyVariant = machine_for(preset("mainline").config.evolve(entry_mb=False),
                                properties=("Ordering",)).TestCase

A failing run prints the shrunk interleaving as the list of steps taken.
Exhaustive answers come from the explorer; this is the quick, randomized
check that also scales to sizes the explorer cannot finish.
"""

from __future__ import annotations

from typing import Iterable

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from .config import Config
from .model import Model
from .properties import BY_NAME


class PropertyViolation(AssertionError):
    """An invariant failed; the message names it and lists the interleaving that led there."""


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
    names = [p.name for p in model.properties if p.kind == "invariant"
             and (properties is None or p.name in properties)]
    checks = [BY_NAME[n] for n in names]
    initial = model.initial_states()
    hardware_keys = sorted((a, c, v) for a in HARDWARE for c in range(config.online_cpus) for v in model.var_names)

    class MembarrierMachine(RuleBasedStateMachine):
        @initialize(which=st.integers(0, len(initial) - 1), data=st.data())
        def start(self, which, data):
            self.state = initial[which]
            # Swarm testing: each run allows only some (cpu, variable) drains and propagations, so some
            # stores stay buffered and some views lag until a barrier -- a subset of the real behaviours.
            self.hardware = data.draw(st.sets(st.sampled_from(hardware_keys)), label="hardware allowed")
            self.trace = [f"Init(scenario={model.setup.layouts[self.state.scenario].workload.name})"]

        @rule(data=st.data())
        def take_an_enabled_action(self, data):
            succs = [x for x in ordered_successors(model, self.state)
                     if x[0].action not in HARDWARE or _key(x[0]) in self.hardware]
            if not succs:
                return  # every program finished and the hardware is quiescent
            step, self.state = data.draw(st.sampled_from(succs), label="action")
            self.trace.append(str(step))

        @invariant()
        def properties_hold(self):
            if not hasattr(self, "state"):
                return
            for prop in checks:
                if not prop.check(model.setup, self.state):
                    steps = "\n  ".join(self.trace)
                    raise PropertyViolation(f"{prop.name} violated after {len(self.trace) - 1} steps:\n  {steps}")

    MembarrierMachine.TestCase.settings = settings(max_examples=max_examples, stateful_step_count=step_count,
                                                   deadline=None)
    MembarrierMachine.__name__ = MembarrierMachine.__qualname__ = "MembarrierMachine"
    return MembarrierMachine
