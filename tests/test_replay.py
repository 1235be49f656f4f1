"""membarrier-spec replay: counterexamples of either engine replay step by step in the Python model."""

import json
from pathlib import Path

import pytest
from conftest import tlc_or_skip

from membarrier_spec.check.explore import explore
from membarrier_spec.check.replay import TraceError, explorer_trace, replay_trace
from membarrier_spec.cli import app as cli
from membarrier_spec.model.interface import Model
from membarrier_spec.model.presets import preset


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
        from membarrier_spec.cli.replay import cmd_replay
        cmd_replay(type("A", (), {"trace": str(path), "property": "NoSuchThing", "preset": None})())


@pytest.mark.tlc
def test_tlc_counterexample_replays_and_draws_like_the_explorers():
    from membarrier_spec.check import tlc_presets
    tlc_or_skip()
    name = "racy-state-load"
    result = tlc_presets.check_preset(name).to_json()
    model = Model(preset(name).config)
    trace = json.loads(json.dumps(result))["counterexamples"]["NoUseAfterFree"]
    done = replay_trace(model, "NoUseAfterFree", trace, "tlc")
    assert done.ok, done.divergence
    drawn = explorer_trace(name, trace)
    # The explorer-shaped trace replays through the explorer path too, and so renders as the explorer's would.
    again = replay_trace(model, "NoUseAfterFree", drawn, "explorer")
    assert again.ok and [s for s in again.states] == list(done.states)
    from membarrier_spec.pictures import swimlane_dot
    assert swimlane_dot(drawn, "NoUseAfterFree") == swimlane_dot(
        [{"action": st["action"], "args": dict(st["args"]), "state": st["state"]} for st in drawn], "NoUseAfterFree")


# Saved logs of stock TLC 2.20 (plain output, `-workers 1`) run on generated modules: racy-state-load as
# generated (NoUseAfterFree violated), and a wrapper Lasso.tla EXTENDS MC_exit_mm_no_mb checking
# `NeverSettles == <>[]FALSE` (a temporal counterexample ending in stuttering).
LOGS = Path(__file__).resolve().parent / "fixtures" / "tla"


def test_a_saved_tlc_log_replays(capsys):
    assert cli.main(["replay", str(LOGS / "racy_state_load.tlc.log")]) == 0
    out = capsys.readouterr().out
    assert "NoUseAfterFree: all 15 steps of the tlc counterexample replay" in out
    assert "the last state breaks NoUseAfterFree" in out


def test_a_temporal_counterexample_replays_as_a_lasso(capsys):
    log = str(LOGS / "exit_mm_no_mb.lasso.tlc.log")
    assert cli.main(["replay", log, "--preset", "exit-mm-no-mb"]) == 0
    assert "temporal property: all 8 steps" in capsys.readouterr().out
    assert cli.main(["replay", log]) == 2  # the log names Lasso, not a generated MC_<preset> module
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--preset" in err
    assert cli.main(["replay", log, "--preset", "mainline"]) == 1  # mainline's model never reaches these states
    assert "diverges at step 0" in capsys.readouterr().out


def test_a_log_of_another_preset_diverges_at_once(capsys):
    assert cli.main(["replay", str(LOGS / "racy_state_load.tlc.log"), "--preset", "ppc-2017"]) in (1, 2)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err


def test_plain_tlc_output_becomes_traces():
    from membarrier_spec import tlc
    text = """Error: Invariant Small is violated.
Error: The behavior up to this point is:
State 1: <Initial predicate>
/\\ x = 0

State 2: <Incr(p1) line 21, col 12 to line 25, col 50 of module Counter>
/\\ x = 1

Error: Temporal properties were violated.

Error: The following behavior constitutes a counter-example:

State 1: <Initial predicate>
/\\ x = 0

State 2: <Incr(p2) line 21, col 12 to line 25, col 50 of module Counter>
/\\ x = 1

Back to state 1: <Reset line 27, col 10 to line 31, col 25 of module Counter>
"""
    cex = tlc.log_counterexamples(text)
    assert [(s["action"], s["state"]["x"]) for s in cex["Small"]] == [("Init", 0), ("Incr", 1)]
    assert cex["Small"][1]["args"] == {"arg0": "p1"}
    lasso = cex[tlc.TEMPORAL]
    assert [(s["action"], s["state"]["x"], s.get("back_to")) for s in lasso] == [
        ("Init", 0, None), ("Incr", 1, None), ("Reset", 0, 0)]


@pytest.mark.parametrize("text", ["no trace here\n", "Error: Invariant X is violated.\n"])
def test_a_text_file_without_a_trace_is_a_one_line_error(tmp_path, capsys, text):
    path = tmp_path / "tlc.log"
    path.write_text(text)
    assert cli.main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error trace" in err


def test_json_of_another_preset_is_refused(tmp_path, capsys):
    path, _ = _explorer_json("exit-mm-no-mb", tmp_path)
    assert cli.main(["replay", str(path), "--preset", "mainline"]) == 2
    assert "not 'mainline'" in capsys.readouterr().err
