"""Named presets: a Config, where it comes from, the question it settles, its expected verdicts."""

from __future__ import annotations

import attrs

from .config import Config
from .errors import ConfigError

HOLDS, VIOLATED = "holds", "violated"


@attrs.frozen
class Preset:
    """A named Config with its source (seed file or kernel scenario) and DESIGN.md's verdicts."""

    name: str
    source: str
    question: str
    config: Config
    expected: dict[str, str] = attrs.field(factory=dict)


PRESETS: dict[str, Preset] = {}


def _add(preset: Preset) -> None:
    PRESETS[preset.name] = preset


_add(Preset(
    name="mainline",
    source="kernel today (x86): kernel/sched/membarrier.c",
    question="Does the kernel as shipped keep every promise, and which does it break?",
    config=Config(),
))


def preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a ConfigError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None


def preset_config(name: str) -> Config:
    return preset(name).config
