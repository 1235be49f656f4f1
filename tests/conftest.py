"""Helpers shared by the test modules (pytest puts this directory on sys.path)."""

from __future__ import annotations

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
