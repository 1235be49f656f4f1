"""membarrier-spec replay: counterexamples of either engine replay step by step in the Python model."""

import json

import pytest

from membarrier_spec import cli
from membarrier_spec.explore import explore
from membarrier_spec.errors import MembarrierSpecError
from membarrier_spec.model import Model
from membarrier_spec.presets import preset
from membarrier_spec.replay import TraceError, explorer_trace, replay_trace


def _explorer_json(name, tmp_path):
    p = preset(name)
    data = explore(p.config, name, checked=p.checked).to_json()
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return path, data


def test_explorer_counterexample_replays(tmp_path, capsys):
    path, _ = _explorer_json("no-exit-mb", tmp_path)
    assert cli.main(["replay", str(path)]) == 0
    assert "replay in the Python model; the last state breaks Ordering" in capsys.readouterr().out


def test_tampered_trace_reports_the_first_divergence(tmp_path, capsys):
    path, data = _explorer_json("no-exit-mb", tmp_path)
    trace = data["counterexamples"]["Ordering"]
    trace[5]["state"]["memory"]["x"] = 7  # a state the model never reaches
    path.write_text(json.dumps(data))
    assert cli.main(["replay", str(path)]) == 1
    assert "diverges at step 5" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["{", "[]", '{"preset": "mainline"}', '{"preset": "nope", "counterexamples": {}}'])
def test_malformed_trace_is_a_one_line_error(tmp_path, capsys, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert cli.main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_property_is_an_error(tmp_path):
    path, _ = _explorer_json("no-exit-mb", tmp_path)
    with pytest.raises(TraceError):
        from membarrier_spec.replay import cmd_replay
        cmd_replay(type("A", (), {"trace": str(path), "property": "NoSuchThing"})())


@pytest.mark.tlc
def test_tlc_counterexample_replays_and_draws_like_the_explorers():
    from membarrier_spec import tlc
    try:
        tlc.find_jar()
        tlc.find_java()
    except MembarrierSpecError as exc:
        pytest.skip(f"TLC cannot run here: {exc}")
    name = "racy-state-load"
    result = tlc.check_preset(name).to_json()
    model = Model(preset(name).config)
    trace = json.loads(json.dumps(result))["counterexamples"]["NoUseAfterFree"]
    done = replay_trace(model, "NoUseAfterFree", trace, "tlc")
    assert done.ok, done.divergence
    drawn = explorer_trace(name, trace)
    # The explorer-shaped trace replays through the explorer path too, and so renders as the explorer's would.
    again = replay_trace(model, "NoUseAfterFree", drawn, "explorer")
    assert again.ok and [s for s in again.states] == list(done.states)
    from membarrier_spec.diagrams import swimlane_dot
    assert swimlane_dot(drawn, "NoUseAfterFree") == swimlane_dot(
        [{"action": st["action"], "args": dict(st["args"]), "state": st["state"]} for st in drawn], "NoUseAfterFree")
