"""The result store: a preset is explored once and reused until anything that decides its answer changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from membarrier_spec.check import results
from membarrier_spec.check.results import ResultStore, explore_presets, result_key
from membarrier_spec.model.presets import preset

SMALL = ["register-no-rq-sync", "sync-core-skip-caller"]


def _key(name, **changes):
    p = preset(name)
    return result_key(name, p.config.evolve(**changes) if changes else p.config, p.checked)


def test_key_covers_config_checked_engine_and_model(monkeypatch):
    base = _key("mainline")
    assert base == _key("mainline")
    assert _key("mainline", exit_mb=False) != base                      # a Config field
    assert _key("mainline", online_cpus=3) != base
    p = preset("mainline")
    assert result_key("mainline", p.config, ("Ordering",)) != base      # the checked properties
    assert result_key("mainline", p.config, p.checked, engine="tlc") != base
    assert result_key("mainline", p.config, p.checked, engine_version="9.9") != base
    monkeypatch.setattr(results, "_FINGERPRINT", "a different model source")
    assert _key("mainline") != base                                      # the model's code


def test_fingerprint_covers_every_module():
    results._FINGERPRINT = None
    first = results.model_fingerprint()
    assert len(first) == 64 and results.model_fingerprint() == first


def _json(result) -> dict:
    return json.loads(json.dumps(result.to_json(), default=list))


def test_explored_once_then_reused(tmp_path):
    store = ResultStore(tmp_path / "results")
    lines: list[str] = []
    first = explore_presets(SMALL, jobs=1, progress=lines.append, store=store)
    assert sum(line.startswith("explored ") for line in lines) == 2
    lines.clear()
    again = explore_presets(SMALL, jobs=1, progress=lines.append, store=store)
    assert not any(line.startswith("explored ") for line in lines) and lines[0].startswith("reused 2")
    for name in SMALL:
        assert _json(again[name].result) == _json(first[name].result)
        assert again[name].projections == first[name].projections
    lines.clear()
    explore_presets(SMALL[:1], jobs=1, progress=lines.append, store=store, fresh=True)
    assert [line.split(":")[0] for line in lines] == [f"explored {SMALL[0]}"]


def test_a_stale_or_damaged_result_is_explored_again(tmp_path):
    store = ResultStore(tmp_path)
    explore_presets(SMALL[:1], jobs=1, store=store)
    path = store.path(SMALL[0])
    data = json.loads(path.read_text())
    data["key"] = "stale"
    path.write_text(json.dumps(data))
    assert store.load(SMALL[0], _key(SMALL[0])) is None
    path.write_text("{ not json")
    assert store.load(SMALL[0], _key(SMALL[0])) is None
    lines: list[str] = []
    explore_presets(SMALL[:1], jobs=1, progress=lines.append, store=store)
    assert lines[0].startswith(f"explored {SMALL[0]}")
    assert store.load(SMALL[0], _key(SMALL[0])) is not None


def test_an_unwritable_store_only_loses_the_cache(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    runs = explore_presets(SMALL[:1], jobs=1, store=ResultStore(blocker / "results"))
    assert runs[SMALL[0]].result.complete
    assert "not stored" in capsys.readouterr().err


@pytest.mark.tlc
def test_tlc_results_are_stored_and_reused(tmp_path, monkeypatch, capsys):
    from conftest import tlc_or_skip

    from membarrier_spec.cli import app as cli
    tlc_or_skip()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEMBARRIER_SPEC_RESULTS", raising=False)  # the default place, under this test's cwd
    tla_dir = str(Path(__file__).resolve().parent.parent / "tla")
    args = ["check", "register-no-rq-sync", "--tla-dir", tla_dir, "--workers", "1"]
    first = cli.main(args)
    out1, err1 = capsys.readouterr()
    assert (tmp_path / "build" / "results" / "register-no-rq-sync.tlc.json").is_file()
    again = cli.main(args)
    out2, err2 = capsys.readouterr()
    assert (first, out1) == (again, out2) and "reused the stored TLC result" in err2
    cli.main(args + ["--fresh", "--quiet"])
    assert "reused" not in capsys.readouterr().err
