"""The Hypothesis exploration machine on every preset (membarrier_spec.check.stateful).

On properties a preset keeps, random interleavings find nothing; on every
✗ cell of the verdict table the machine finds the violation within a bounded
number of examples (Hypothesis's generate phase), and stateful.shrink turns
the run into a short interleaving that still breaks the property (Hypothesis's
own shrinker gets there too, but takes minutes per cell).  Runs are
derandomized so that CI is reproducible.
"""


import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from membarrier_spec.check.stateful import PropertyViolation, machine_for, replay, shrink
from membarrier_spec.model.interface import Model
from membarrier_spec.model.presets import PRESETS
from membarrier_spec.model.properties import BY_NAME

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


# Violations whose shortest counterexample is deep (28 or more steps, one precise interleaving of a
# registration, a lazy switch and an SB pair): 1,500 random runs of 40 steps do not reach them.  The
# explorer finds each exhaustively (tests/test_presets.py); here they are marked slow, and the machine
# searches one scenario at a time, the explorer's first, with up to 10,000 runs of 60 steps each.
DEEP = {("mainline", "Ordering"), ("fix-register-lazy", "Ordering"), ("lazy-mm-implicit-mb", "Ordering")}


def _violation_params():
    return [pytest.param(n, p, marks=pytest.mark.slow) if (n, p) in DEEP else (n, p) for n, p in VIOLATED]


def _search(config, prop, deep: bool) -> PropertyViolation | None:
    searches = [config.scenarios]
    if deep:  # one scenario at a time, the explorer's first
        from membarrier_spec.check.explore import explore
        first = explore(config, "deep", checked=(prop,)).counterexamples[prop][-1]["state"]["scenario"]
        searches = [(first,)] + [(sc,) for sc in config.scenarios if sc != first]
    runs = settings(max_examples=10000 if deep else 1500, stateful_step_count=60 if deep else 40,
                    phases=[Phase.generate], **QUIET)
    for scenarios in searches:
        try:
            run_state_machine_as_test(machine_for(config.evolve(scenarios=scenarios), (prop,)), settings=runs)
        except PropertyViolation as found:
            found.config = config.evolve(scenarios=scenarios)
            return found
    return None


@pytest.mark.parametrize("name,prop", _violation_params(), ids=[f"{n}-{p}" for n, p in VIOLATED])
def test_machine_finds_each_violation_and_shrinks_it(name, prop):
    found = _search(PRESETS[name].config, prop, (name, prop) in DEEP)
    assert found is not None, f"the machine did not find {prop} violated in {name}"
    config = found.config
    assert found.prop == prop
    model = Model(config)
    short = shrink(model, prop, found.initial, found.steps)
    assert len(short) <= min(len(found.steps), MAX_SHRUNK_STEPS)
    taken, states = replay(model, found.initial, short)
    assert taken == short and not BY_NAME[prop].check(model.setup, states[-1])
