"""The store of check results: each preset explored once, reused by ``verify``, ``diagrams`` and ``report``.

An exploration is kept in ``build/results/<preset>.explorer.json``: the same
JSON as ``explore --json`` (verdicts, counterexamples, counts) plus the
projected state graphs the diagrams draw, under a *key* made of everything
that decides the answer: the preset's Config and checked properties, the
engine and its version, and a fingerprint of the model's source (every
module and template of the package).  A result whose key differs is never
used; a run with ``fresh=True`` ignores the store and overwrites it.  Files
are written atomically, so an interrupted run leaves whole results or none.

Exploration runs in a process pool (one process per CPU by default) with
one progress line per preset.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import attrs

from .. import __version__
from ..files import OutputError, write_set
from .explore import Result
from .projection import PresetRun, Projection, explore_preset

ENGINE = "explorer"
DEFAULT_ROOT = Path("build") / "results"
_PACKAGE = Path(__file__).resolve().parents[1]
_FINGERPRINT: str | None = None


def model_fingerprint() -> str:
    """A hash of the package's source: every ``.py`` module, template and data file."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        h = hashlib.sha256()
        for path in sorted(_PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".j2", ".c"):
                h.update(str(path.relative_to(_PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
        _FINGERPRINT = h.hexdigest()
    return _FINGERPRINT


def result_key(name: str, config, checked: tuple[str, ...] | None, engine: str = ENGINE,
               engine_version: str = __version__) -> str:
    """Everything that decides a preset's answer, hashed."""
    data = {"preset": name, "config": attrs.asdict(config), "checked": sorted(checked or ()),
            "engine": engine, "engine_version": engine_version, "model": model_fingerprint(),
            "python": sys.version_info[:2]}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _tuples(value):
    """JSON lists back into the tuples the projections are made of."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def result_from_json(data: dict) -> Result:
    return Result(data["preset"], data["distinct_states"], data["transitions"], data["depth"], data["seconds"],
                  data["properties"], data["counterexamples"], data["complete"], tuple(data["scenarios"]),
                  data.get("counterexamples_by_scenario", {}))


class ResultStore:
    """Results on disk, one JSON file per preset and engine."""

    def __init__(self, root: str | Path | None = None):
        # $MEMBARRIER_SPEC_RESULTS moves the store (the tests keep theirs out of the working tree)
        self.root = Path(root or os.environ.get("MEMBARRIER_SPEC_RESULTS") or DEFAULT_ROOT)

    def path(self, name: str, engine: str = ENGINE) -> Path:
        return self.root / f"{name}.{engine}.json"

    def load(self, name: str, key: str):
        """The stored run of ``name`` if its key is ``key``, else None (a damaged file counts as missing)."""
        try:
            data = json.loads(self.path(name).read_text())
            if data.get("key") != key:
                return None
            result = result_from_json(data["result"])
            projections = tuple(Projection(**{k: _tuples(v) for k, v in p.items()}) for p in data["projections"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return PresetRun(name, result, projections)

    def save(self, run, key: str) -> None:
        """Write ``run`` atomically; a store that cannot be written is only a lost cache, never an error."""
        self._write(run.name, ENGINE, {"key": key, "result": run.result.to_json(),
                                       "projections": [attrs.asdict(p, recurse=False) for p in run.projections]})

    def load_output(self, name: str, engine: str, key: str) -> dict | None:
        """What a command printed for ``name`` with ``engine`` (``{"text", "json", "status"}``), if current."""
        try:
            data = json.loads(self.path(name, engine).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != key or not {"text", "json", "status"} <= set(data):
            return None
        return data

    def save_output(self, name: str, engine: str, key: str, output: dict) -> None:
        self._write(name, engine, {"key": key, **output})

    def _write(self, name: str, engine: str, data: dict) -> None:
        path = self.path(name, engine)
        try:
            write_set(path.parent, {path.name: json.dumps(data, separators=(",", ":"), default=list)})
        except OutputError as exc:
            print(f"membarrier-spec: note: result of {name} not stored ({exc})", file=sys.stderr)


def explore_presets(names: list[str], jobs: int | None = None, progress: Callable[[str], None] | None = None,
                    *, store: ResultStore | None = None, fresh: bool = False) -> dict:
    """Each preset's :class:`~membarrier_spec.check.projection.PresetRun`, from ``store`` where current, else explored
    (in parallel over ``jobs`` processes) and stored; in ``names`` order."""
    from ..model.presets import preset
    keys = {}
    for name in names:
        p = preset(name)  # an unknown name fails before any work
        keys[name] = result_key(name, p.config, p.checked)
    done: dict = {}
    if store is not None and not fresh:
        for name in names:
            run = store.load(name, keys[name])
            if run is not None:
                done[name] = run
        if progress and done:
            progress(f"reused {len(done)} stored result(s) from {store.root} ({', '.join(done)})")
    todo = [n for n in names if n not in done]
    start = time.monotonic()

    def report(run) -> None:
        done[run.name] = run
        if store is not None:
            store.save(run, keys[run.name])
        if progress:
            progress(f"explored {run.name}: {run.result.distinct_states:,} states in "
                     f"{run.result.seconds:.1f}s [{len(done)}/{len(names)}, {time.monotonic() - start:.0f}s]")

    order = sorted(todo, key=lambda n: -_COST_HINT.get(n, 1))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    if jobs == 1:
        for name in order:
            report(explore_preset(name))
    elif order:
        import concurrent.futures as cf
        import multiprocessing
        ctx = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
        with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = [pool.submit(explore_preset, name) for name in order]
            for fut in cf.as_completed(futures):
                report(fut.result())
    return {name: done[name] for name in names}


# rough relative cost, so that the long explorations start first on a small pool
_COST_HINT = {"mainline": 9, "fix-no-early-return": 9, "fix-user-prev-mm": 9, "fix-switch-prev-mm": 8,
              "fix-register-lazy": 8, "mainline-ppc": 5, "lazy-mm-implicit-mb": 5, "resolution-e-register": 4,
              "resolution-a-ipi-all": 4, "sync-rq-ewouldblock": 4, "lazy-mm-explicit-mb": 4}

