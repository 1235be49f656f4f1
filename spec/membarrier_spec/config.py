"""Kernel configuration: the knobs that change what membarrier(2) returns or does.

A :class:`Config` is a frozen attrs value; a preset is a named Config.  Every
field is validated at construction, and a bad value is a :class:`ConfigError`
naming the field and its allowed values.
"""

from __future__ import annotations

from typing import Any

import attrs

from .errors import ConfigError

FORK_POLICIES = ("inherit", "clear")
ALLOC_POLICIES = ("gfp_kernel_enomem", "gfp_nowait_fallback", "ewouldblock")

MAX_CPUS = 64


def _int_range(lo: int, hi: int):
    def check(inst, attribute, value):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(f"{attribute.name} must be an integer in {lo}..{hi}, got {value!r}")
    return check


def _boolean(inst, attribute, value):
    if not isinstance(value, bool):
        raise ConfigError(f"{attribute.name} must be true or false, got {value!r}")


def _one_of(choices: tuple[str, ...]):
    def check(inst, attribute, value):
        if value not in choices:
            raise ConfigError(f"{attribute.name} must be one of {', '.join(choices)}; got {value!r}")
    return check


def field(default: Any, validator, doc: str, choices: tuple = ()):
    return attrs.field(default=default, validator=validator,
                       metadata={"doc": doc, "choices": choices})


@attrs.frozen
class Config:
    """The kernel knobs that change membarrier's answers (syscall layer)."""

    online_cpus: int = field(2, _int_range(1, MAX_CPUS), "num_online_cpus()")
    nohz_full: bool = field(False, _boolean, "tick_nohz_full_enabled(): GLOBAL is -EINVAL and absent from QUERY")
    arch_sync_core: bool = field(True, _boolean, "CONFIG_ARCH_HAS_MEMBARRIER_SYNC_CORE")
    rseq: bool = field(True, _boolean, "CONFIG_RSEQ")
    fork_policy: str = field("inherit", _one_of(FORK_POLICIES),
                             "fork(): child mm inherits the state bits (mainline) or starts clear (seed 000, E)",
                             FORK_POLICIES)
    alloc_policy: str = field("gfp_kernel_enomem", _one_of(ALLOC_POLICIES),
                              "cpumask allocation: GFP_KERNEL and -ENOMEM (mainline), GFP_NOWAIT with per-CPU "
                              "IPI fallback (seeds 002/004), or GFP_NOWAIT and -EWOULDBLOCK (seed 004)",
                              ALLOC_POLICIES)

    def evolve(self, **changes: Any) -> "Config":
        """A copy with ``changes`` applied; an unknown field is a ConfigError listing the known ones."""
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise ConfigError(f"unknown Config field {unknown[0]!r}; known fields: {', '.join(field_names())}")
        return attrs.evolve(self, **changes)

    def with_overrides(self, assignments: list[str]) -> "Config":
        """Apply CLI-style ``field=value`` strings, converting each value to the field's type."""
        return self.evolve(**parse_assignments(assignments))


def field_names() -> list[str]:
    return [a.name for a in attrs.fields(Config)]


def parse_value(name: str, text: str) -> Any:
    """Convert ``text`` to the type of Config field ``name`` (bools: true/false/1/0/yes/no)."""
    fields = {a.name: a for a in attrs.fields(Config)}
    if name not in fields:
        raise ConfigError(f"unknown Config field {name!r}; known fields: {', '.join(fields)}")
    kind = type(fields[name].default)
    if kind is bool:
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    if kind is int:
        try:
            return int(text, 0)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {text!r}") from None
    return text


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"expected field=value, got {item!r}")
        name, text = item.split("=", 1)
        out[name.strip()] = parse_value(name.strip(), text)
    return out
