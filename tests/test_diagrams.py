"""Diagrams and the report: what they draw, that they are deterministic, that the committed diagrams/ is
current, and that bad input is one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import explored

from membarrier_spec import abi, pictures
from membarrier_spec.check import projection, results
from membarrier_spec.model.interface import Model
from membarrier_spec.model.presets import COLUMNS, PRESETS
from membarrier_spec.model.properties import VIOLATED
from membarrier_spec.model.state import action_text

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "diagrams"
# Presets whose exploration takes well under a second: the fast staleness check renders these.
SMALL = ["racy-state-load", "register-no-rq-sync", "sync-core-no-serialize", "sync-core-skip-caller",
         "exit-mm-no-mb"]

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="graphviz's dot is not installed (apt-get install graphviz)")

result = explored  # one exploration per preset and test session (conftest)


# --- 1. the registration lifecycle --------------------------------------------------------------------

def test_lifecycle_comes_from_the_sequential_model():
    states, edges = pictures.registration_machine("inherit", "gfp_kernel_enomem")
    assert len(states) == 57 and 0 in states
    S = abi.State
    by = {(t.src, t.event, t.cmd): t for t in edges}
    sync = by[(0, "register", int(abi.Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE))]
    assert sync.dst == S.PRIVATE_EXPEDITED | S.PRIVATE_EXPEDITED_SYNC_CORE | S.PRIVATE_EXPEDITED_SYNC_CORE_READY
    assert sync.ret == 0
    failed = by[(0, "register_alloc_fails", int(abi.Cmd.REGISTER_PRIVATE_EXPEDITED))]
    assert (failed.dst, failed.ret) == (S.PRIVATE_EXPEDITED, -abi.ENOMEM) and failed.fails
    assert by[(S.PRIVATE_EXPEDITED, "exec", 0)].dst == 0
    assert by[(S.PRIVATE_EXPEDITED, "fork", 0)].dst == S.PRIVATE_EXPEDITED
    _, edges = pictures.registration_machine("clear", "ewouldblock")
    by = {(t.src, t.event, t.cmd): t for t in edges}
    assert by[(0, "register_alloc_fails", int(abi.Cmd.REGISTER_GLOBAL_EXPEDITED))].dst == 0
    ready = S.GLOBAL_EXPEDITED | S.GLOBAL_EXPEDITED_READY
    assert by[(ready, "fork", 0)].dst == 0


def test_one_lifecycle_per_policy_pair_that_differs():
    pairs = pictures.lifecycle_policies()
    assert len(pairs) == len(set(pairs)) == 6  # every fork x allocation pair gives its own machine
    text = pictures.lifecycle_dot(*pairs[0])
    for region, *_ in pictures.REGIONS:
        assert f"REGISTER_{region}" in text
    for name in ("GET_REGISTRATIONS", "execve()", "clone()", "fork()", "-ENOMEM", "GFP_KERNEL"):
        assert name in text
    assert "-EWOULDBLOCK" in pictures.lifecycle_dot("inherit", "ewouldblock")
    assert "IPI per CPU" in pictures.lifecycle_dot("inherit", "gfp_nowait_fallback")


# --- 3. swimlanes ---------------------------------------------------------------------------------------

def test_swimlane_draws_every_step_in_order_with_kernel_names():
    trace = result("exit-mm-no-mb").counterexamples["Ordering"]
    text = pictures.swimlane_dot(trace, "Ordering", config=PRESETS["exit-mm-no-mb"].config)
    numbers = [int(n) for n in re.findall(r'COLOR="#777777">(\d+)</FONT>', text)]
    assert numbers == list(range(1, len(trace)))
    shown = [action_text(st["action"]).split(" (")[0] for st in trace[1:] if st["action"] not in ("drain", "propagate")]
    positions = [text.find(f">{name}") for name in shown]
    assert all(p >= 0 for p in positions)
    assert "no smp_mb() before current-&gt;mm = NULL" in text      # the barrier this preset lacks
    assert "smp_mb() (exit)" in text and "grace period" in text     # barriers drawn as such
    assert "✗ Ordering violated" in text and "the forbidden outcome is reached" in text
    assert "CPU 1 still buffers x = 1" in text                     # the store buffer where it matters


def test_swimlane_renders_the_same_from_a_json_round_trip():
    """A TLC trace replayed into the explorer's shape passes through JSON; it must draw identically."""
    trace = result("racy-state-load").counterexamples["NoUseAfterFree"]
    config = PRESETS["racy-state-load"].config
    again = json.loads(json.dumps(trace))
    assert pictures.swimlane_dot(trace, "NoUseAfterFree", config=config) == \
        pictures.swimlane_dot(again, "NoUseAfterFree", config=config)


def _synthetic_ipi_trace():
    model = Model(PRESETS["no-exit-mb"].config)
    s0 = model.describe(model.initial_states()[0])
    return [{"action": "Init", "args": {}, "state": s0},
            {"action": "smp_call_function_many",
             "args": {"cmd": "PRIVATE_EXPEDITED", "cpu": 0, "cpus": "1", "handler": "ipi_mb", "task": "T0"},
             "state": s0},
            {"action": "store", "args": {"cpu": 1, "task": "T1", "var": "x", "value": 1}, "state": s0},
            {"action": "ipi_mb", "args": {"caller": "T0", "cpu": 1, "curr": "T1"}, "state": s0}]


def test_an_ipi_is_an_arrow_from_the_sender_to_the_handler():
    trace = _synthetic_ipi_trace()
    ipis = pictures.pair_ipis(trace)
    assert [(i.src, i.dst, i.start, i.end) for i in ipis] == [(0, 1, 1, 3)]
    text = pictures.swimlane_dot(trace, "Ordering")
    assert text.count(f'BGCOLOR="{pictures.IPI_COLOR}"') == 4   # the vertical run: rows 1 (half), 2, 3 (half)
    assert "▶" in text and "IPI from T0" in text
    unhandled = pictures.swimlane_dot(trace[:3], "Ordering")
    assert "ipi_mb: IPI from CPU 0 not handled" in unhandled


# --- 2. state graphs ---------------------------------------------------------------------------------

def test_projection_accounts_for_every_state_and_marks_the_violation():
    run = projection.explore_preset("racy-state-load")
    assert run.result.properties == result("racy-state-load").properties
    (proj,) = run.projections
    assert proj.states == run.result.distinct_states
    assert sum(1 for _, _, initial, _ in proj.nodes if initial) == 1
    bad = [key for key, _, _, violated in proj.nodes if "NoUseAfterFree" in violated]
    assert bad
    keys = {key for key, *_ in proj.nodes}
    trace = run.result.counterexamples["NoUseAfterFree"]
    assert all(projection.trace_key(st["state"]) in keys for st in trace)
    assert projection.trace_key(trace[-1]["state"]) in bad
    text = pictures.state_graph_dot(proj, run.result.counterexamples)
    assert projection.PROJECTION in text.replace("<BR ALIGN=\"LEFT\"/>", " ") or "projected onto" in text
    assert "penwidth=2.4" in text  # the counterexample's path


# --- 4. the verdict matrix ------------------------------------------------------------------------------

def test_every_violated_cell_links_to_its_swimlane():
    table = {name: p.expected for name, p in PRESETS.items()}
    link = pictures.cell_linker("files", table)
    matrix = pictures.verdict_matrix_dot(table, link)
    md = pictures.verdict_markdown(table, link)
    for name, props in table.items():
        for prop, verdict in props.items():
            if verdict == VIOLATED and prop in COLUMNS:
                href = f"{pictures.swimlane_name(name, prop)}.svg"
                assert f'HREF="{href}"' in matrix and f"(swimlane-{name}-{prop}.svg)" in md


# --- determinism, staleness -------------------------------------------------------------------------------

@needs_dot
def test_rendering_is_deterministic():
    src = pictures.lifecycle_dot()
    assert pictures.render(src, "svg") == pictures.render(src, "svg")
    assert pictures.render(src, "png") == pictures.render(src, "png")
    runs = {n: projection.explore_preset(n) for n in ("racy-state-load",)}
    first = pictures.build_diagrams(runs)
    second = pictures.build_diagrams({n: projection.explore_preset(n) for n in runs})
    assert [d.source for d in first] == [d.source for d in second]


def _check_current(names: list[str] | None):
    if not (COMMITTED / pictures.MANIFEST).exists():
        pytest.fail(f"{COMMITTED} has no MANIFEST; render it with: membarrier-spec diagrams")
    runs = results.explore_presets(names or list(PRESETS))
    fresh = pictures.diagram_files(runs, complete=names is None)
    stale, extra, note = pictures.stale_files(COMMITTED, fresh)
    if note:
        print(f"\n{note}")
    assert not stale and not extra, (
        f"diagrams/ is stale (regenerate it with: membarrier-spec diagrams): stale {stale}, "
        f"no longer generated {extra}")


@needs_dot
def test_committed_diagrams_of_the_small_presets_are_current():
    _check_current(SMALL)


@needs_dot
@pytest.mark.slow
def test_committed_diagrams_are_current():
    """Every preset (a full exploration, about as long as `membarrier-spec verify`)."""
    _check_current(None)


def test_readme_pictures_exist():
    readme = (ROOT / "README.md").read_text()
    for stem in pictures.README_PICTURES:
        assert (COMMITTED / f"{stem}.png").exists() and (COMMITTED / f"{stem}.svg").exists(), stem
    for path in re.findall(r"\(?(diagrams/[\w.\-]+\.(?:png|svg))", readme):
        assert (ROOT / path).exists(), f"README shows {path}, which does not exist"


# --- the report -------------------------------------------------------------------------------------------

@needs_dot
def test_report_is_self_contained_and_deterministic(tmp_path):
    from membarrier_spec.pictures.report import write_report
    names = ["racy-state-load", "register-no-rq-sync"]
    out = write_report(tmp_path / "a", names=names)
    again = write_report(tmp_path / "b", names=names)
    md, page = Path(out["md"]).read_text(), Path(out["html"]).read_text()
    assert md == Path(again["md"]).read_text() and page == Path(again["html"]).read_text()
    assert "Fix: sched/membarrier: p->mm->membarrier_state racy load" in md and PRESETS["racy-state-load"].question in md
    assert "(swimlane-racy-state-load-NoUseAfterFree.svg)" in md
    assert (tmp_path / "a" / "swimlane-racy-state-load-NoUseAfterFree.svg").exists()
    assert page.count("<svg") >= 5 and "<img" not in page and 'src="' not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for anchor in set(re.findall(r'href="#([^"]+)"', page)):
        assert anchor in ids, anchor


# --- bad input: one line, exit status 2 ----------------------------------------------------------------

def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "membarrier_spec.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def assert_one_line_error(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("membarrier-spec") and "error" in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("command", ["diagrams", "report"])
def test_missing_dot_is_one_line(command, tmp_path):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))
    if shutil.which("dot", path=env["PATH"]):
        pytest.skip("dot sits next to this Python; cannot hide it")
    assert_one_line_error(run_cli(command, "--out", str(tmp_path / "out"), env=env), "dot", "apt-get install graphviz")


@needs_dot
@pytest.mark.parametrize("command", ["diagrams", "report"])
def test_unwritable_output_is_one_line(command, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line_error(run_cli(command, "--out", str(blocker / "sub")), "cannot ", "a-file")


@needs_dot
@pytest.mark.parametrize("command", ["diagrams", "report"])
def test_unknown_preset_is_one_line(command, tmp_path):
    assert_one_line_error(run_cli(command, "nope", "--out", str(tmp_path)), "unknown preset 'nope'")


@needs_dot
@pytest.mark.tlc
def test_report_with_the_tlc_engine(tmp_path):
    """TLC's verdicts in the report equal the explorer's; its counterexamples are replayed and drawn."""
    from membarrier_spec import tlc
    from membarrier_spec.check import tlc_presets
    from membarrier_spec.errors import MembarrierSpecError
    from membarrier_spec.pictures.report import write_report
    try:
        tlc.find_jar()
        tlc_presets.preset_files("racy-state-load")
    except MembarrierSpecError as exc:
        pytest.skip(f"TLC cannot run here: {exc}")
    out = write_report(tmp_path, engine="tlc", names=["racy-state-load"])
    md = Path(out["md"]).read_text()
    assert "--engine tlc" in md and "Counterexample: NoUseAfterFree" in md
    assert "✗ NoUseAfterFree: violated" in md


def test_check_after_rendering_a_subset(tmp_path):
    """A directory rendered for some presets only (no MANIFEST) is current right after, and stale once changed."""
    from membarrier_spec.cli import app as cli
    out = tmp_path / "d"
    assert cli.main(["diagrams", "register-no-rq-sync", "--out", str(out), "--quiet"]) == 0
    assert cli.main(["diagrams", "register-no-rq-sync", "--out", str(out), "--check", "--quiet"]) == 0
    (out / "swimlane-register-no-rq-sync-Ordering.svg").write_text("<svg/>")
    assert cli.main(["diagrams", "register-no-rq-sync", "--out", str(out), "--check", "--quiet"]) == 1
