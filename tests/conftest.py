"""Helpers shared by the test modules (pytest puts this directory on sys.path)."""

from __future__ import annotations

import signal

import pytest


def tlc_or_skip():
    """The TLC runner module, or a skip that prints why TLC cannot run here (no jar, no Java)."""
    from membarrier_spec import tlc
    from membarrier_spec.errors import MembarrierSpecError
    try:
        tlc.find_jar()
        tlc.find_java()
    except MembarrierSpecError as exc:
        pytest.skip(f"TLC cannot run here: {exc}")
    return tlc


@pytest.fixture(autouse=True, scope="session")
def _results_out_of_the_tree(tmp_path_factory):
    """Commands run by the tests store their results in a temporary directory, not in build/results/."""
    import os
    old = os.environ.get("MEMBARRIER_SPEC_RESULTS")
    os.environ["MEMBARRIER_SPEC_RESULTS"] = str(tmp_path_factory.mktemp("results"))
    yield
    if old is None:
        os.environ.pop("MEMBARRIER_SPEC_RESULTS", None)
    else:
        os.environ["MEMBARRIER_SPEC_RESULTS"] = old


def default_signals() -> None:
    """``preexec_fn`` for a child that stands for a command typed at a terminal: SIGINT, SIGTERM and SIGHUP at
    their defaults.  A shell starts background jobs with SIGINT ignored, and Python keeps it ignored, so a
    test run in the background would otherwise see Ctrl-C do nothing."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


_EXPLORED: dict = {}


def explored(name: str):
    """The explorer's result on preset ``name`` (its checked properties), explored once per test session."""
    if name not in _EXPLORED:
        from membarrier_spec.check.explore import explore
        from membarrier_spec.model.presets import preset
        p = preset(name)
        _EXPLORED[name] = explore(p.config, name, checked=p.checked)
    return _EXPLORED[name]
