"""TLC and the Python explorer agree on every preset.

For each preset, TLC checks the generated model (at the preset's default size, no symmetry: the model has
none that is sound, see tla/Membarrier.tla) with every property the preset checks, one verdict per property
(``tlc.check_spec`` reruns TLC without an invariant once it is violated).  The test asserts:

* the same number of distinct states as the explorer (and, when TLC's complete run is recorded in the
  manifest, the same distinct and generated states and depth as recorded);
* the same verdict for every property as the verdict table (which tests/test_presets.py holds the
  explorer to), StableEinval included (Membarrier.tla checks it as an ASSUME);
* each counterexample TLC reports replays in the Python model, step for step and action for action, and
  breaks the property only in its last state.

Skipped, with the reason printed, when no tla2tools.jar or Java is found.  The presets above 50,000 states
are also marked ``slow``.  Set MEMBARRIER_SPEC_TLC_PRESETS to a comma-separated list to check only those
presets (none of them then counts as slow).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import explored, tlc_or_skip

from membarrier_spec.model.interface import Model
from membarrier_spec.model.presets import PRESETS
from membarrier_spec.model.properties import BY_NAME
from membarrier_spec.tlaplus import generator, names, tables
from membarrier_spec.tlaplus import values as tla_values

pytestmark = pytest.mark.tlc

TIMEOUT = float(os.environ.get("MEMBARRIER_SPEC_TLC_TIMEOUT", "900"))
SELECTED = [n.strip() for n in os.environ.get("MEMBARRIER_SPEC_TLC_PRESETS", "").split(",") if n.strip()]




@pytest.fixture(scope="module")
def tla_dir(tmp_path_factory) -> Path:
    """A fresh generation (the committed tla/ is checked against it by test_tla_generate.py)."""
    out = tmp_path_factory.mktemp("tla-agreement") / "tla"
    generator.generate(out)
    return out


def explorer_distinct_states(name: str) -> int:
    """The explorer's distinct states (one exploration per preset and test session, shared with the other
    test files through conftest)."""
    r = explored(name)
    assert r.complete
    return r.distinct_states


def replay(model: Model, prop: str, trace: list[dict]) -> None:
    """A TLC counterexample is a path of the Python model that breaks ``prop`` only at its end."""
    assert trace and trace[0]["action"] == "Init", trace[:1]
    states = [tla_values.decode_state(step["state"]) for step in trace]
    assert states[0] in model.initial_states(), f"{prop}: TLC's first state is not an initial state"
    check = BY_NAME[prop].check
    for i in range(1, len(states)):
        action = trace[i]["action"]
        enabled = [st.action for st, ns in model.successors(states[i - 1]) if ns == states[i]]
        assert action in enabled, (f"{prop}: step {i} {action}{trace[i]['args']} is not a step of the Python "
                                   f"model (steps to that state: {enabled})")
    for i, s in enumerate(states):
        assert check(model.setup, s) == (i < len(states) - 1), f"{prop}: violated at step {i} of {len(states) - 1}"


def _names():
    return SELECTED or list(PRESETS)


# Presets of about 50,000 distinct states and more: each takes TLC 20 s to 2 min on two shared cores (mainline, four
# runs, the longest), together about 9 of the agreement test's 13 minutes, so they are marked slow.  The
# others (about 2.5 minutes together) cover every kind of step.  Run everything with `-m tlc`.
SLOW = {"mainline", "mainline-ppc", "lazy-mm-implicit-mb", "resolution-e-register", "resolution-a-ipi-all",
        "sync-rq-ewouldblock", "lazy-mm-explicit-mb", "resolution-c-per-thread", "ppc-2017",
        "resolution-d-keep-mb", "resolution-b-lock-rqs", "rfc-2015", "fix-switch-prev-mm", "fix-no-early-return",
        "fix-user-prev-mm", "fix-register-lazy", "no-entry-mb", "no-exit-mb", "sync-rq-nowait-fallback"}


def _params():
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW and not SELECTED else n for n in _names()]


@pytest.mark.parametrize("name", _params())
def test_tlc_agrees_with_the_explorer(name, tla_dir, record_property):
    tlc = tlc_or_skip()
    p = PRESETS[name]
    model = Model(p.config)
    mod = names.module_name(name)
    invariants = generator.checked_invariants(p)
    properties = ["MembarrierReturns"] if "MembarrierReturns" in p.checked else []
    start = time.monotonic()
    r = tlc.check_spec(tla_dir / f"{mod}.tla", tla_dir / f"{mod}.cfg", invariants=invariants,
                       properties=properties, name=name, workers=2, timeout=TIMEOUT)
    seconds = time.monotonic() - start
    assert r.finished and r.complete, f"{name}: TLC did not finish: {r.status} {r.message}"
    record_property("tlc_seconds", round(seconds, 1))
    record_property("tlc_runs", r.runs)
    record_property("tlc_distinct_states", r.distinct_states)
    print(f"\n{name}: TLC {r.distinct_states:,} distinct states, {r.generated_states:,} generated, depth {r.depth}, "
          f"{r.runs} run(s), {seconds:.1f}s")

    # The same state graph: as many distinct states as the explorer, and TLC's own numbers as recorded.
    assert r.distinct_states == explorer_distinct_states(name), name
    manifest = json.loads((tla_dir / generator.MANIFEST).read_text())
    entry = next(m for mod_ in manifest["modules"] for m in mod_["models"] if m.get("preset") == name)
    if "distinctStates" in entry:
        assert (r.distinct_states, r.generated_states, r.depth) == \
            (entry["distinctStates"], entry["totalStates"], entry["stateDepth"]), \
            f"{name}: TLC's numbers differ from generator.TLC_RESULTS; re-measure and regenerate"

    # The same verdicts as the verdict table (StableEinval: the ASSUME held, or TLC would have refused).
    got = {n: v for n, v in r.properties.items() if n in p.checked}
    if "StableEinval" in p.checked:
        got["StableEinval"] = "holds"
    assert got == p.expected, name

    # Every counterexample replays in the Python model.
    for prop, trace in r.counterexamples.items():
        assert prop in BY_NAME and BY_NAME[prop].kind == "invariant", (prop, r.counterexamples.keys())
        replay(model, prop, trace)
    assert set(r.counterexamples) == {n for n, v in p.expected.items() if v == "violated"}



def _decide_configs() -> list[str]:
    """One preset per distinct syscall-layer configuration (the decision tables they need differ)."""
    seen, names = set(), []
    for name in _names():
        key = tables.decide_key(PRESETS[name].config)
        if key not in seen:
            seen.add(key)
            names.append(name)
    return names


@pytest.mark.parametrize("name", _decide_configs())
def test_tlc_evaluates_the_decision_table_as_syscalls_decide(name, tla_dir, tmp_path):
    """TLC's own evaluation of MC_Decide, on every probed command, state and mm_users 1..3, is syscalls.decide."""
    import subprocess

    from membarrier_spec.abi import State
    from membarrier_spec.model import syscalls
    tlc = tlc_or_skip()
    mod = names.module_name(name)
    for f in ("Membarrier.tla", f"{mod}.tla"):
        (tmp_path / f).write_text((tla_dir / f).read_text())
    (tmp_path / "DecideCheck.tla").write_text(
        "---- MODULE DecideCheck ----\n"
        f"EXTENDS {mod}, TLC\n"
        "ASSUME PrintT(<<\"DECIDE\", [cmd \\in ProbeCmds |-> [st \\in SUBSET Bits |->\n"
        "                 [u \\in 1..3 |-> MC_Decide(cmd, st, u)]]]>>)\n"
        "NoInit == scenario = 0 /\\ FALSE\n"
        "====\n")
    cfg = (tla_dir / f"{mod}.cfg").read_text()
    constants = cfg[cfg.index("CONSTANTS"):cfg.index("SPECIFICATION")]
    (tmp_path / "DecideCheck.cfg").write_text(constants + "INIT NoInit\nNEXT Next\n")
    proc = subprocess.run([tlc.find_java(), "-XX:+UseParallelGC", "-cp", str(tlc.find_jar()), "tlc2.TLC",
                           "-workers", "1", "-noGenerateSpecTE", "-metadir", str(tmp_path / "states"),
                           "-config", "DecideCheck.cfg", "DecideCheck.tla"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith('<<"DECIDE"')), None)
    assert proc.returncode == 0 and line, proc.stdout[-3000:]
    _, table = tlc.parse_tla_value(line)
    config = PRESETS[name].config
    plans = {"return": lambda p: syscalls.Return(p["value"]),
             "synchronize_rcu": lambda p: syscalls.SynchronizeRcu(),
             "expedited": lambda p: syscalls.Expedited(p["scope"], p["ipi"], cpu_id=p["cpu_id"],
                                                       skip_self=p["skip_self"]),
             "register": lambda p: syscalls.Register(State(sum(int(State[b]) for b in p["set_bits"])),
                                                     State[p["ready_bit"]])}
    assert len(table) == 16
    for cmd_name, by_state in table.items():
        cmd = names.cmd_from_tla(cmd_name)
        assert len(by_state) == 256
        for st_names, by_users in by_state.items():
            st = sum(int(State[b]) for b in st_names)
            for users, plan in enumerate(by_users, 1):  # a function over 1..3 prints as a sequence
                expected = syscalls.decide(cmd, 0, 0, membarrier_state=st, mm_users=users, config=config)
                assert plans[plan["kind"]](plan) == expected, (cmd_name, sorted(st_names), users)
