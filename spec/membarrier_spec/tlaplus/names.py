"""TLA+ names and literals: identifiers checked against TLA+'s rules, strings, booleans, state bits, commands,
and the one list of action names (:data:`TLA_ACTIONS`) that Python, TLA+, traces and pictures share."""

from __future__ import annotations

import re
from typing import Iterable

from ..abi import Cmd, State
from ..errors import MembarrierSpecError


class GeneratorError(MembarrierSpecError):
    """Something in a preset cannot be rendered faithfully as TLA+."""


# --- names ------------------------------------------------------------------------------------------------

# Every action of the model, by the one name it has in Python, in TLA+, in traces and in pictures
# (state.ACTION_TEXT gives the display text where it differs from the name).
TLA_ACTIONS: tuple[str, ...] = (
    "drain", "propagate",
    "schedule", "rq_curr_store", "after_rq_curr_mb", "switch_mm", "membarrier_arch_switch_mm", "finish_task_switch",
    "ipi_mb", "ipi_sync_core", "ipi_rseq", "ipi_sync_rq_state",
    "smp_mb_entry", "zalloc_cpumask_var", "atomic_or", "sync_local_rq", "synchronize_rcu",
    "serialize_ipi", "cpus_read_lock", "read_rq_curr", "cpumask_setall", "rq_lock_read_curr", "for_each_thread",
    "read_rq_membarrier_state", "read_rq_curr_mm", "read_mm_membarrier_state", "smp_call_function_many",
    "membarrier_return", "atomic_or_ready",
    "store", "load", "smp_mb", "modify_code", "execute_code", "exit_mm", "kthread_use_mm", "kthread_unuse_mm",
    "sys_membarrier",
)


def check_action(action: str) -> str:
    """``action`` if it is an action of the model, else a :class:`GeneratorError` naming the known ones."""
    if action not in TLA_ACTIONS:
        raise GeneratorError(f"unknown action {action!r}; known: {', '.join(TLA_ACTIONS)}")
    return action


_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# TLA+ reserved words (an identifier must not be one of them).
_RESERVED = frozenset("""
ASSUME ASSUMPTION AXIOM CASE CHOOSE CONSTANT CONSTANTS DOMAIN ELSE ENABLED EXCEPT EXTENDS IF IN INSTANCE LET
LOCAL MODULE OTHER SF_ SUBSET THEN THEOREM UNCHANGED UNION VARIABLE VARIABLES WF_ WITH ACTION BY DEF DEFINE
DEFS HAVE HIDE LAMBDA LEMMA NEW OBVIOUS OMITTED ONLY PICK PROOF PROPOSITION PROVE QED RECURSIVE STATE SUFFICES
TAKE TEMPORAL USE WITNESS COROLLARY BOOLEAN TRUE FALSE STRING
""".split())


def check_identifier(name: str, what: str) -> str:
    """``name`` if it is a valid TLA+ identifier, else a GeneratorError naming ``what``."""
    if not _IDENT.match(name) or name in _RESERVED or name.startswith(("WF_", "SF_")):
        raise GeneratorError(f"{what} {name!r} is not a valid TLA+ identifier")
    return name


def preset_ident(name: str) -> str:
    """The identifier for a preset's model module: ``mainline-ppc`` -> ``mainline_ppc``."""
    return check_identifier(name.replace("-", "_"), f"preset name {name!r} maps to")


def module_name(name: str) -> str:
    return f"MC_{preset_ident(name)}"


def check_idents_unique(names: Iterable[str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        ident = preset_ident(name)
        if ident in seen:
            raise GeneratorError(f"presets {seen[ident]!r} and {name!r} map to one module name MC_{ident}")
        seen[ident] = name


_STRING_OK = re.compile(r"^[ -~]*$")  # printable ASCII


def tla_string(text: str) -> str:
    """A TLA+ string literal for ``text`` (printable ASCII only)."""
    if not _STRING_OK.match(text):
        raise GeneratorError(f"string {text!r} has characters a TLA+ string cannot hold")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tla_comment(text: str, indent: str = "") -> list[str]:
    """``\\*`` comment lines for ``text``, wrapped at 100 columns."""
    import textwrap
    text = " ".join(text.split())
    if not _STRING_OK.match(text):
        text = text.encode("ascii", "replace").decode("ascii")
    width = max(40, 100 - len(indent) - 3)
    return [f"{indent}\\* {line}" for line in textwrap.wrap(text, width)] or [f"{indent}\\*"]


def tla_bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def bits_names(value: int) -> list[str]:
    return [b.name for b in State if value & b]


def tla_bits(value: int) -> str:
    return "{" + ", ".join(tla_string(n) for n in bits_names(value)) + "}"


def cmd_tla_name(cmd: int) -> str:
    """The TLA+ name of a command: its Cmd name, or its number for values that are none."""
    for name, member in Cmd.__members__.items():
        if int(member) == cmd:
            return name
    return str(cmd)


def cmd_from_tla(name: str) -> int:
    if name.lstrip("-").isdigit():
        return int(name)
    try:
        return int(Cmd[name])
    except KeyError:
        raise GeneratorError(f"unknown command {name!r}") from None


