"""The Hypothesis exploration machine on every preset (membarrier_spec.stateful).

On properties a preset keeps, random interleavings find nothing; on every
✗ cell of DESIGN.md's table the machine finds the violation within a bounded
number of examples (Hypothesis's generate phase), and stateful.shrink turns
the run into a short interleaving that still breaks the property (Hypothesis's
own shrinker gets there too, but takes minutes per cell).  Runs are
derandomized so that CI is reproducible.
"""


import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from membarrier_spec.presets import PRESETS
from membarrier_spec.properties import BY_NAME
from membarrier_spec.model import Model
from membarrier_spec.stateful import PropertyViolation, machine_for, replay, shrink

QUIET = dict(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
INVARIANT = {name for name, p in BY_NAME.items() if p.kind == "invariant"}

HOLDING = [(n, tuple(k for k, v in p.expected.items() if v == "holds" and k in INVARIANT))
           for n, p in PRESETS.items()]
VIOLATED = [(n, k) for n, p in PRESETS.items() for k, v in p.expected.items()
            if v == "violated" and k in INVARIANT]
MAX_SHRUNK_STEPS = 40


@pytest.mark.parametrize("name,props", HOLDING, ids=[n for n, _ in HOLDING])
def test_random_interleavings_keep_the_holding_properties(name, props):
    machine = machine_for(PRESETS[name].config, props)
    run_state_machine_as_test(machine, settings=settings(max_examples=12, stateful_step_count=60, **QUIET))


@pytest.mark.parametrize("name,prop", VIOLATED, ids=[f"{n}-{p}" for n, p in VIOLATED])
def test_machine_finds_each_violation_and_shrinks_it(name, prop):
    config = PRESETS[name].config
    machine = machine_for(config, (prop,))
    with pytest.raises(PropertyViolation) as info:
        run_state_machine_as_test(machine, settings=settings(max_examples=1500, stateful_step_count=40,
                                                             phases=[Phase.generate], **QUIET))
    found = info.value
    assert found.prop == prop
    model = Model(config)
    short = shrink(model, prop, found.initial, found.steps)
    assert len(short) <= min(len(found.steps), MAX_SHRUNK_STEPS)
    taken, states = replay(model, found.initial, short)
    assert taken == short and not BY_NAME[prop].check(model.setup, states[-1])
