"""The live probe: the model's predictions for its scripts, the judging of samples, and (marked live) the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from membarrier_spec.abi import Cmd
from membarrier_spec.errors import MembarrierSpecError
from membarrier_spec.syscall.probe import (PROBE_PRESETS, SCENARIOS, Scenario, ScriptStep, Thread, predict, validate,
                                           workload_of)
from membarrier_spec.syscall.probe_live import disturbance, observe, script_text, unavailable_reason


def _measured(scenario: Scenario, preset: str) -> list[tuple[int, ...]]:
    pred = predict(scenario, preset)
    return [cpus for st, cpus in zip(scenario.steps, pred.ipi_cpus) if st.op == "measure"]


@pytest.mark.parametrize("name", ["global_lazy", "global_exit"])
def test_lazy_return_predicted_by_mainline_only(name):
    """The lazy return: mainline's model skips CPU 1; the scheduler-side fixes interrupt it."""
    sc = SCENARIOS[name]
    assert _measured(sc, "mainline") == [()]
    for fix in ("fix-switch-prev-mm", "fix-no-early-return", "fix-user-prev-mm"):
        assert _measured(sc, fix) == [(1,)], fix


def test_register_side_fix_misses_the_exit_variant():
    assert _measured(SCENARIOS["global_lazy"], "fix-register-lazy") == [(1,)]
    assert _measured(SCENARIOS["global_exit"], "fix-register-lazy") == [()]


@pytest.mark.parametrize("name,expected", [("private_running", (1,)), ("private_blocked", ()),
                                           ("global_running", (1,)), ("global_unregistered", ()),
                                           ("sync_core", (1,))])
def test_other_scenarios_agree_across_presets(name, expected):
    for preset in PROBE_PRESETS:
        assert _measured(SCENARIOS[name], preset) == [expected], preset


def test_every_prediction_returns_zero_and_is_preemption_safe():
    for sc in SCENARIOS.values():
        for preset in PROBE_PRESETS:
            pred = predict(sc, preset)
            assert pred.preemption_safe
            assert [r for st, r in zip(sc.steps, pred.returns) if st.op in ("call", "measure")] == \
                [0] * sum(st.op in ("call", "measure") for st in sc.steps)


def test_unregistered_private_call_is_predicted_eperm():
    sc = Scenario("eperm", "PRIVATE_EXPEDITED without registering", (Thread("M", "B", 0), Thread("T1", "B", 1)),
                  (ScriptStep("spin", "T1"), ScriptStep("measure", "M", int(Cmd.PRIVATE_EXPEDITED))))
    pred = predict(sc, "mainline")
    assert pred.returns[1] == -1 and pred.ipi_cpus[1] == ()


@pytest.mark.parametrize("steps,message", [
    ((ScriptStep("block", "T1"),), "does not spin"),
    ((ScriptStep("spin", "T1"), ScriptStep("spin", "T1")), "already spins"),
    ((ScriptStep("spin", "Z"),), "unknown thread"),
    ((ScriptStep("exit", "T1"), ScriptStep("spin", "T1")), "after the thread exited"),
    ((ScriptStep("hop", "T1"),), "unknown op"),
    ((ScriptStep("spin", "T1"), ScriptStep("spin", "T2")), "CPU 1 is taken"),
])
def test_bad_scripts_are_refused(steps, message):
    sc = Scenario("bad", "", (Thread("T1", "B", 1), Thread("T2", "B", 1)), steps)
    with pytest.raises(MembarrierSpecError, match=message):
        validate(sc)


def test_workload_and_script_follow_the_scenario():
    sc = SCENARIOS["global_exit"]
    w = workload_of(sc)
    assert [t.name for t in w.tasks] == ["A", "M", "T3", "T1", "X"]
    assert [op.kind for op in w.tasks[2].program] == ["exit"]
    assert w.tasks[3].cpus == "cpu1" and w.tasks[3].may_run_on(1) and not w.tasks[3].may_run_on(0)
    text = script_text(sc, 123)
    assert "thread T3 B 1" in text and f"measure A {int(Cmd.GLOBAL_EXPEDITED)} 123" in text and "watch 1" in text


def _sample(sc: Scenario, switches: list[dict], others=None, cal=5000):
    steps = []
    for k, st in enumerate(sc.steps):
        steps.append({"op": st.op, "thread": st.thread, "ret": 0, "cal": [0, cal if st.op == "measure" else 0],
                      "switches": switches[k], "others": (others or {}).get(k, []), "wall_us": 1, "runtime_us": {}})
    return {"steps": steps}


def test_disturbance_rules():
    sc = SCENARIOS["global_lazy"]  # spin T1, block T1, call M, spin T1, measure A, block T1
    quiet = [{"T1": 1}, {"T1": 0}, {"T1": 0}, {"T1": 1}, {"T1": 0}, {"T1": 0}]
    assert disturbance(sc, _sample(sc, quiet)) is None
    assert "other tasks ran" in disturbance(sc, _sample(sc, quiet, others={2: ["77 cron@1"]}))
    blocked_ran = [dict(s) for s in quiet]
    blocked_ran[2]["T1"] = 1  # T1 is blocked while M registers: it must not run
    assert "blocked on CPU 1" in disturbance(sc, _sample(sc, blocked_ran))
    assert "blocked on CPU 1" in disturbance(sc, _sample(sc, blocked_ran), preemption_safe=True)
    preempted = [dict(s) for s in quiet]
    preempted[4]["T1"] = 3  # a kernel thread preempted the spinning T1 during the measure
    assert "spinning on CPU 1" in disturbance(sc, _sample(sc, preempted))
    assert disturbance(sc, _sample(sc, preempted), preemption_safe=True) is None
    starved = _sample(sc, quiet)
    starved["steps"][4].update(wall_us=1_000_000, runtime_us={"T1": 400_000})  # CPU 1 held by a migrating task
    assert "ran 40% of the 1.00 s step" in disturbance(sc, starved, preemption_safe=True)
    starved["steps"][4]["runtime_us"] = {"T1": 990_000}
    assert disturbance(sc, starved, preemption_safe=True) is None
    starved["steps"][4].update(wall_us=3_000, runtime_us={"T1": 0})  # a short step between two ticks
    assert disturbance(sc, starved, preemption_safe=True) is None


def test_observation_classes():
    sc = SCENARIOS["global_lazy"]
    quiet = [{"T1": 1}, {"T1": 0}, {"T1": 0}, {"T1": 1}, {"T1": 0}, {"T1": 0}]
    assert observe(sc, _sample(sc, quiet, cal=0), 10000).ipis[4] == "none"
    assert observe(sc, _sample(sc, quiet, cal=9000), 10000).ipis[4] == "all"
    assert observe(sc, _sample(sc, quiet, cal=1000), 10000).ipis[4] == "partial"


def test_probe_cli_bad_input():
    from membarrier_spec.cli.app import main
    assert main(["probe", "no_such_scenario"]) == 2
    assert main(["probe", "--samples", "5", "--attempts", "2"]) == 2


# --- the live kernel -----------------------------------------------------------------------------------------

def _workers_alive() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,comm"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "probe_worker" in line]


@pytest.mark.live
def test_live_probe_agrees_with_mainline():
    """Every scenario the kernel lets us judge agrees with mainline; the lazy return shows as no IPI at all."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"probe unavailable: {reason}")
    done = subprocess.run([sys.executable, "-m", "membarrier_spec.cli", "probe", "--json", "--count", "4000",
                           "--samples", "1", "--attempts", "12"], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ))
    assert not _workers_alive()
    if done.returncode == 4:
        pytest.skip(f"every sample was disturbed: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode in (0, 1), done.stderr
    results = {r["scenario"]: r for r in json.loads(done.stdout)["scenarios"]}
    judged = {n: r for n, r in results.items() if r["status"] != "disturbed"}
    disagree = {n: r["predictions"]["mainline"]["differences"] for n, r in judged.items()
                if r["status"] != "agrees"}
    assert not disagree, disagree
    if "global_lazy" not in judged:
        pytest.skip(f"global_lazy stayed disturbed: {results['global_lazy']['reason']}")
    lazy = judged["global_lazy"]
    assert [s["ipis"] for s in lazy["kernel"] if "ipis" in s] == ["none"]
    assert not lazy["predictions"]["fix-user-prev-mm"]["agrees"]
