"""The TLA+ generator: the committed tla/ is fresh, output is deterministic and written atomically,
identifiers are validated, the manifest follows the tlaplus/Examples schema, the decision table is
syscalls.decide, and states survive the trip to TLA+ values and back.  No TLC needed here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from membarrier_spec import files, tlc
from membarrier_spec.abi import REGISTRATION_PAIRS, State
from membarrier_spec.model import syscalls
from membarrier_spec.model.interface import Model
from membarrier_spec.model.presets import PRESETS, preset
from membarrier_spec.model.properties import PROPERTIES
from membarrier_spec.tlaplus import generator, names
from membarrier_spec.tlaplus import values as tla_values

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "tla"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "membarrier_spec.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


# --- freshness, determinism, atomic writes ------------------------------------------------------------------

def test_committed_tla_is_what_generate_writes():
    stale = generator.stale_files(COMMITTED)
    assert not stale, (f"tla/ is stale ({', '.join(stale)}); regenerate with: {generator.GENERATE_COMMAND}")


def test_generation_is_deterministic(tmp_path):
    first = generator.render_all()
    assert generator.render_all() == first
    generator.generate(tmp_path / "tla")
    generator.generate(tmp_path / "again" / "tla")
    for name in first:
        assert (tmp_path / "tla" / name).stat().st_mode & 0o044, f"{name} is readable only by its owner"
        a = (tmp_path / "tla" / name).read_bytes()
        assert a == (tmp_path / "again" / "tla" / name).read_bytes(), name
        assert a == (COMMITTED / name).read_bytes(), name


def test_every_generated_file_starts_with_the_header():
    for name, text in generator.render_all().items():
        if name.endswith((".tla", ".cfg")):
            assert text.splitlines()[0] == generator.TLA_HEADER, name
            assert "membarrier-spec generate" in text.splitlines()[0]
        assert text.endswith("\n") and "\r" not in text and "\t" not in text, name


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "tla"
    generator.generate(out, ["racy-state-load"])
    target = out / "MC_racy_state_load.tla"
    before = target.read_bytes()
    target.write_text(generator.TLA_HEADER + "\n(* old *)\n")
    old = target.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generator.generate(out, ["racy-state-load"])
    monkeypatch.undo()
    assert target.read_bytes() == old
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "a temporary file was left behind"
    generator.generate(out, ["racy-state-load"])
    assert target.read_bytes() == before


def test_full_generation_removes_stale_models_it_wrote_and_nothing_else(tmp_path):
    out = tmp_path / "tla"
    out.mkdir()
    (out / "MC_gone.tla").write_text(generator.TLA_HEADER + "\n")
    (out / "MC_handwritten.tla").write_text("---- MODULE MC_handwritten ----\n====\n")
    changed = generator.generate(out)
    assert changed["MC_gone.tla"] and not (out / "MC_gone.tla").exists()
    assert (out / "MC_handwritten.tla").exists()
    assert not any(generator.generate(out).values()), "a second run rewrote something"


# --- the CLI ------------------------------------------------------------------------------------------------

def test_cli_generate_subset_check_and_errors(tmp_path):
    out = tmp_path / "tla"
    proc = run_cli("generate", "--out", str(out), "no-exit-mb", "racy-state-load")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "MC_no_exit_mb.cfg", "MC_no_exit_mb.tla", "MC_racy_state_load.cfg", "MC_racy_state_load.tla",
        "Membarrier.tla", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [m["models"][0]["preset"] for m in manifest["modules"][1:]] == ["racy-state-load", "no-exit-mb"]
    assert run_cli("generate", "--out", str(out), "--check", "no-exit-mb").returncode == 0
    (out / "MC_no_exit_mb.cfg").write_text("changed\n")
    proc = run_cli("generate", "--out", str(out), "--check", "no-exit-mb")
    assert proc.returncode == 1 and "MC_no_exit_mb.cfg" in proc.stderr
    proc = run_cli("generate", "--out", str(out), "no-such-preset")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "unknown preset" in proc.stderr and "Traceback" not in proc.stderr


# --- identifiers --------------------------------------------------------------------------------------------

def test_preset_names_map_to_unique_valid_module_names():
    modules = [names.module_name(n) for n in PRESETS]
    assert len(set(modules)) == len(modules)
    for name in modules:
        assert re.fullmatch(r"MC_[A-Za-z0-9_]+", name)


@pytest.mark.parametrize("bad", ["1abc", "a-b", "a b", "", "CASE", "WF_x", "x\u00e9"])
def test_bad_identifiers_are_rejected(bad):
    with pytest.raises(names.GeneratorError):
        names.check_identifier(bad, "test")


def test_strings_are_escaped_or_rejected():
    assert names.tla_string('a"b\\c') == '"a\\"b\\\\c"'
    with pytest.raises(names.GeneratorError):
        names.tla_string("new\nline")


# --- the spec's names ---------------------------------------------------------------------------------------

def _definitions(text: str) -> set[str]:
    return set(re.findall(r"(?m)^([A-Za-z_][A-Za-z0-9_]*)(?:\([^)]*\))?\s*==", text))


def test_every_action_and_property_has_its_python_name():
    base = generator.render_base()
    defined = _definitions(base)
    next_part = base.split("\nHardware(c) ==")[1].split("\nFairness ==")[0]
    for action in names.TLA_ACTIONS:
        assert action in defined, action
        assert re.search(rf"\b{action}\(c\b", next_part), f"{action} is not part of Next"
    for prop in PROPERTIES:
        assert prop.name in defined, prop.name
    assert base.index("TypeOK ==") < base.index("Ordering ==")
    assert "Spec == Init /\\ [][Next]_vars /\\ Fairness" in base


def test_every_python_step_is_a_tla_action():
    """Every step the explorer takes (over the first 500 states of every preset) is a TLA+ action by name."""
    seen = set()
    for name in PRESETS:
        model = Model(preset(name).config)
        frontier = list(model.initial_states())
        known = set(frontier)
        i = 0
        while i < len(frontier) and i < 500:
            for step, ns in model.successors(frontier[i]):
                action = names.check_action(step.action)
                seen.add(action)
                if ns not in known:
                    known.add(ns)
                    frontier.append(ns)
            i += 1
    assert len(seen) > 25, sorted(set(names.TLA_ACTIONS) - seen)


# --- the decision table -------------------------------------------------------------------------------------

class _DecideEval:
    """Evaluates the generated MC_Decide text (its small grammar) for one command, state and users."""

    def __init__(self, text: str):
        body = text.split("MC_Decide(cmd, st, users) ==", 1)[1].split("\n\n", 1)[0]
        self.arms = {}
        for arm in re.split(r"\n\s*(?:CASE|\[\])\s", "\n" + body.strip()):
            if arm.strip():
                m = re.match(r'cmd = "([^"]+)"\s*->\s*(.*)', arm.strip(), re.S)
                self.arms[m.group(1)] = " ".join(m.group(2).split())

    def __call__(self, cmd: str, st: set[str], users: int):
        return self._expr(self.arms[cmd].strip(), st, users)

    def _expr(self, e: str, st, users):
        e = e.strip()
        if e.startswith("(") and e.endswith(")"):
            e = e[1:-1].strip()
        m = re.match(r'IF ("(\w+)" \\in st|users = 1) THEN (.*)', e)
        if m:
            cond = m.group(2) in st if m.group(2) else users == 1
            then, other = self._split_else(m.group(3))
            return self._expr(then if cond else other, st, users)
        return self._plan(e, st)

    @staticmethod
    def _split_else(rest: str) -> tuple[str, str]:
        depth = 0
        for m in re.finditer(r"\bIF\b|\bELSE\b", rest):
            if m.group() == "IF":
                depth += 1
            elif depth == 0:
                return rest[:m.start()], rest[m.end():]
            else:
                depth -= 1
        raise AssertionError(rest)

    @staticmethod
    def _plan(e: str, st):
        errno = {"EINVAL": 22, "EPERM": 1, "ENOMEM": 12, "EWOULDBLOCK": 11, "ENOSYS": 38}
        if e == "SynchronizeRcu":
            return syscalls.SynchronizeRcu()
        if e == "Return(RegistrationsMask(st))":
            return syscalls.Return(sum(int(cmd) for bits, cmd in REGISTRATION_PAIRS
                                       if any(b.name in st for b in State if bits & b)))
        m = re.fullmatch(r"Return\((-?)(\w+)\)", e)
        if m:
            value = errno.get(m.group(2)) or int(m.group(2))
            return syscalls.Return(-value if m.group(1) else value)
        m = re.fullmatch(r'Expedited\("(\w+)", "(\w+)", (-?\d+), (TRUE|FALSE)\)', e)
        if m:
            return syscalls.Expedited(m.group(1), m.group(2), cpu_id=int(m.group(3)), skip_self=m.group(4) == "TRUE")
        m = re.fullmatch(r'Register\(\{(.*)\}, "(\w+)"\)', e)
        if m:
            bits = 0
            for name in re.findall(r'"(\w+)"', m.group(1)):
                bits |= int(State[name])
            return syscalls.Register(State(bits), State[m.group(2)])
        raise AssertionError(f"cannot evaluate {e!r}")


@pytest.mark.parametrize("name", list(PRESETS))
def test_decision_table_is_syscalls_decide(name):
    config = preset(name).config
    text = generator.render_preset(name)[f"{names.module_name(name)}.tla"]
    table = _DecideEval(text)
    for cmd_name in table.arms:
        cmd = names.cmd_from_tla(cmd_name)
        for st in range(256):
            bits = {b.name for b in State if st & b}
            for users in (1, 2, 3):
                assert table(cmd_name, bits, users) == syscalls.decide(
                    cmd, 0, 0, membarrier_state=st, mm_users=users, config=config), (cmd_name, st, users)


# --- the manifest -------------------------------------------------------------------------------------------

def test_manifest_follows_the_examples_schema():
    manifest = json.loads((COMMITTED / "manifest.json").read_text())
    assert set(manifest) == {"sources", "authors", "tags", "modules"}
    assert all(isinstance(x, str) for x in manifest["sources"] + manifest["authors"])
    assert set(manifest["tags"]) <= {"beginner", "intermediate", "ewd"}
    presets_seen = []
    for module in manifest["modules"]:
        assert set(module) <= {"path", "features", "models", "proof"} and {"path", "features", "models"} <= set(module)
        assert (REPO / module["path"]).is_file(), module["path"]
        assert module["features"] == []
        for model in module["models"]:
            assert {"path", "runtime", "mode", "result"} <= set(model)
            assert set(model) <= {"path", "runtime", "mode", "result", "distinctStates", "totalStates",
                                  "stateDepth", "workers", "preset", "properties"}
            assert (REPO / model["path"]).is_file(), model["path"]
            assert re.fullmatch(r"(\d\d:\d\d:\d\d)|unknown", model["runtime"])
            assert model["mode"] == "exhaustive search"
            assert model["result"] in ("success", "assumption failure", "deadlock failure", "safety failure",
                                       "liveness failure", "unknown")
            for key in ("distinctStates", "totalStates", "stateDepth"):
                assert isinstance(model.get(key, 0), int)
            p = PRESETS[model["preset"]]
            assert model["properties"] == p.expected
            assert set(model["properties"].values()) <= {"holds", "violated"}
            violated = "violated" in p.expected.values()
            assert model["result"] == ("safety failure" if violated else "success")
            presets_seen.append(p.name)
    assert presets_seen == list(PRESETS)


def test_cfg_checks_what_the_preset_checks():
    for name, p in PRESETS.items():
        cfg = generator.render_preset(name)[f"{names.module_name(name)}.cfg"]
        invariants = cfg.split("INVARIANTS\n", 1)[1].split("\n\n", 1)[0].split()
        assert invariants == generator.checked_invariants(p)
        assert ("PROPERTIES\n    MembarrierReturns" in cfg) == ("MembarrierReturns" in p.checked)
        assert "CHECK_DEADLOCK FALSE" in cfg and "SPECIFICATION Spec" in cfg
        assert f"NCPUS = {p.config.online_cpus}" in cfg


# --- states both ways ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mainline", "resolution-c-per-thread", "racy-state-load", "rfc-2015"])
def test_states_encode_and_decode(name):
    model = Model(preset(name).config)
    states = list(model.initial_states())
    seen = set(states)
    for s in states:
        if len(states) > 1000:
            break
        for _, ns in model.successors(s):
            if ns not in seen:
                seen.add(ns)
                states.append(ns)
    for s in states:
        values = tla_values.state_values(s)
        assert tla_values.decode_state(values) == s
        parsed = tlc.parse_tla_state(tla_values.encode_state(s))
        assert list(parsed) == list(tla_values.VARIABLES)
        assert tla_values.decode_state(parsed) == s


def test_decode_rejects_an_incomplete_state():
    model = Model(preset("racy-state-load").config)
    values = tla_values.state_values(model.initial_states()[0])
    del values["ghost"]
    with pytest.raises(names.GeneratorError):
        tla_values.decode_state(values)


def test_a_variant_config_renders_its_sizes_and_says_so():
    """benchmarks/tlc.py renders mainline with more CPUs and one scenario at a time."""
    config = preset("mainline").config.evolve(online_cpus=3, scenarios=("global_exit",))
    files = generator.render_preset("mainline", config)
    module, cfg = files["MC_mainline.tla"], files["MC_mainline.cfg"]
    assert re.search(r"^    NCPUS = 3$", cfg, re.M)
    assert "Variant of the preset's Config: online_cpus=3, scenarios=('global_exit',)." in module
    assert 'name |-> "global_exit"' in module and 'name |-> "sb_private"' not in module
    assert "Variant" not in generator.render_preset("mainline")["MC_mainline.tla"]


def test_an_interrupted_generation_leaves_the_old_set(tmp_path, monkeypatch):
    """A failure after some files were staged renames none of them: the set on disk stays the old one."""
    out = tmp_path / "tla"
    generator.generate(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for p in out.glob("MC_*.tla"):
        p.write_text(generator.TLA_HEADER + "\n(* old *)\n")
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    staged = []
    real_stage = files._stage

    def stage_then_fail(path, data):
        if len(staged) == 3:
            raise OSError(28, "No space left on device")
        staged.append(path)
        return real_stage(path, data)

    monkeypatch.setattr(files, "_stage", stage_then_fail)
    with pytest.raises(names.GeneratorError, match="No space left"):
        generator.generate(out)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old
    generator.generate(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
