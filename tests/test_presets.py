"""Every preset's verdicts, explored exhaustively, equal DESIGN.md's table; counterexamples are sound."""

import pytest

from membarrier_spec.explore import VIOLATED, explore
from membarrier_spec.model import Model
from membarrier_spec.presets import PRESETS, preset
from membarrier_spec.properties import BY_NAME

_CACHE = {}


def result(name):
    if name not in _CACHE:
        p = preset(name)
        _CACHE[name] = explore(p.config, name, checked=p.checked)
    return _CACHE[name]


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_verdicts_match_design_table(name):
    p = PRESETS[name]
    r = result(name)
    assert r.complete
    got = {k: v for k, v in r.properties.items() if v != "not-checked"}
    assert got == p.expected


@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if VIOLATED in p.expected.values()])
def test_counterexamples_replay_and_end_in_a_violation(name):
    """Each counterexample is a path of enabled actions, and only its last state breaks the property."""
    p = PRESETS[name]
    r = result(name)
    model = Model(p.config)
    for prop, trace in r.counterexamples.items():
        assert trace[0]["action"] == "Init"
        states = [s for s in model.initial_states() if model.describe(s) == trace[0]["state"]]
        assert states, f"{prop}: the first state is not an initial state"
        s = states[0]
        for i, st in enumerate(trace[1:], 1):
            nxt = [ns for step, ns in model.successors(s)
                   if step.action == st["action"] and step.arg_dict() == st["args"]
                   and model.describe(ns) == st["state"]]
            assert nxt, f"{prop}: step {i} {st['action']} is not enabled"
            s = nxt[0]
            check = BY_NAME[prop].check
            assert check(model.setup, s) == (i < len(trace) - 1), f"{prop}: violated at step {i} of {len(trace) - 1}"
