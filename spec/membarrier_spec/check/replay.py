"""Replay a counterexample, TLC's or the explorer's, step by step in the Python model.

A trace is the ``counterexamples[PROPERTY]`` list of ``membarrier-spec check
--json`` (``"engine": "tlc"``: each state is TLC's variables) or of ``explore
--json`` / ``check --engine explorer --json`` (each state is the explorer's
rendering), or the error trace in a saved TLC log (plain or ``-tool`` output of
stock TLC run on a generated ``MC_<preset>`` module).  Replay starts from an
initial state of the preset's model and, for every step, looks for an enabled
action of the Python model with the same name that leads to the same state;
the first step for which there is none is the divergence.  A lasso (a temporal
counterexample) replays the same way: its ``Back to state`` step must be an
enabled action leading back to that state, and a ``Stuttering`` step keeps
the state.  :func:`explorer_trace` turns a TLC trace into the explorer's
shape, so that diagrams draw both the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from ..errors import MembarrierSpecError
from ..model.interface import Model
from ..model.presets import PRESETS, preset
from ..model.properties import BY_NAME
from ..model.state import KState, Step
from .explore import trace_records


class TraceError(MembarrierSpecError):
    """A trace file that cannot be read, or names no known preset or property."""


@attrs.frozen
class Replayed:
    """The outcome of replaying one trace: the Python steps and states, or where it diverged."""

    prop: str
    steps: tuple[Step | None, ...]
    states: tuple[KState, ...]
    divergence: str | None = None  # None: every step replayed
    violated_at_end: bool = False

    @property
    def ok(self) -> bool:
        return self.divergence is None and self.violated_at_end


def _from_json(value: Any) -> Any:
    """TLC JSON (sets as lists, function keys as text) back into the value parser's format."""
    if isinstance(value, dict):
        keys = list(value)
        if keys and all(isinstance(k, str) and k.lstrip("-").isdigit() for k in keys):
            return {int(k): _from_json(v) for k, v in value.items()}
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value


def _tlc_state(values: dict) -> KState:
    from ..tlaplus.values import decode_state
    try:
        return decode_state({k: _from_json(v) for k, v in values.items()})
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise TraceError(f"a TLC state in the trace cannot be decoded: {exc}") from None


def replay_trace(model: Model, prop: str, trace: list[dict], engine: str) -> Replayed:
    """Replay ``trace`` (steps of ``engine`` ``tlc`` or ``explorer``) in ``model``."""
    if not trace or trace[0].get("action") not in ("Init", None):
        raise TraceError("a trace starts with its initial state (action Init)")
    if engine == "tlc":
        wanted_states = [_tlc_state(st["state"]) for st in trace]
        first = [s for s in model.initial_states() if s == wanted_states[0]]
        same = lambda i, st_, ns: ns == wanted_states[i] and st_.action == trace[i]["action"]  # noqa: E731
    else:
        first = [s for s in model.initial_states() if model.describe(s) == trace[0]["state"]]
        same = lambda i, st_, ns: (st_.action == trace[i]["action"] and st_.arg_dict() == trace[i]["args"]  # noqa: E731
                                   and model.describe(ns) == trace[i]["state"])
    if not first:
        return Replayed(prop, (None,), (), "step 0: the first state is not an initial state of the model (was "
                                           "the trace found with the preset's own .cfg?)")
    steps, states = [None], [first[0]]
    for i in range(1, len(trace)):
        if trace[i].get("action") == "Stuttering":  # the lasso ends by staying in its last state
            steps.append(None)
            states.append(states[-1])
            continue
        match = [(st_, ns) for st_, ns in model.successors(states[-1]) if same(i, st_, ns)]
        if not match:
            enabled = sorted({st_.action for st_, _ in model.successors(states[-1])})
            return Replayed(prop, tuple(steps), tuple(states),
                            f"step {i} ({trace[i]['action']}): no enabled action of the Python model leads to "
                            f"that state (enabled here: {', '.join(enabled) or 'none'})")
        steps.append(match[0][0])
        states.append(match[0][1])
    check = BY_NAME[prop].check if prop in BY_NAME and BY_NAME[prop].check else None
    at_end = check is not None and not check(model.setup, states[-1])
    return Replayed(prop, tuple(steps), tuple(states), None, at_end)


def explorer_trace(preset_name: str, trace: list[dict]) -> list[dict]:
    """A TLC counterexample in the explorer's shape (for swimlanes): replayed, then rendered the same way."""
    model = Model(preset(preset_name).config)
    done = replay_trace(model, "", trace, "tlc")
    if done.divergence:
        raise TraceError(f"{preset_name}: the trace does not replay: {done.divergence}")
    return trace_records(model, list(done.steps), list(done.states))


def load(path: str, preset_name: str | None = None) -> dict:
    """A trace file as ``{"preset", "engine", "counterexamples"}``: JSON of ``check``/``explore --json``, or
    a saved TLC log (its preset from ``preset_name`` or the ``MC_<preset>`` module the log names)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise TraceError(f"no such trace file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read {path}: {exc}") from None
    if not text.lstrip().startswith(("{", "[")):
        return _load_tlc_log(path, text, preset_name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path} is not a JSON trace: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("counterexamples"), dict) or "preset" not in data:
        raise TraceError(f"{path}: expected the JSON of `check --json` or `explore --json` "
                         "(with preset and counterexamples)")
    if preset_name is not None and preset_name != data["preset"]:
        raise TraceError(f"{path} is a trace of preset {data['preset']!r}, not {preset_name!r}")
    _check_shape(path, data)
    return data


def _check_shape(path: str, data: dict) -> None:
    """Every counterexample is a list of steps {"action": str, "state": dict[, "args": dict]}, the first Init."""
    if not isinstance(data["preset"], str):
        raise TraceError(f"{path}: \"preset\" must be a preset name, not {type(data['preset']).__name__}")
    for prop, trace in data["counterexamples"].items():
        where = f"{path}: counterexamples.{prop}"
        if not isinstance(trace, list) or not trace:
            raise TraceError(f"{where}: expected a non-empty list of steps")
        for i, st in enumerate(trace):
            if not isinstance(st, dict):
                raise TraceError(f"{where}[{i}]: expected a step object, not {type(st).__name__}")
            for key, kind in (("action", str), ("state", dict)):
                if not isinstance(st.get(key), kind):
                    raise TraceError(f"{where}[{i}]: missing or malformed \"{key}\" (expected a {kind.__name__})")
            if "args" in st and not isinstance(st["args"], dict):
                raise TraceError(f"{where}[{i}]: \"args\" must be an object")
        if trace[0]["action"] != "Init":
            raise TraceError(f"{where}[0]: the first step must be Init, not {trace[0]['action']!r}")


def _load_tlc_log(path: str, text: str, preset_name: str | None) -> dict:
    from .. import tlc
    from ..tlaplus import names
    cex = tlc.log_counterexamples(text)
    if not cex:
        raise TraceError(f"{path}: neither JSON from `check --json`/`explore --json` nor a TLC log with an "
                         "error trace")
    if preset_name is None:
        module = tlc.log_module(text)
        by_module = {names.module_name(name): name for name in PRESETS}
        if module not in by_module:
            raise TraceError(f"{path}: the log checked {f'module {module}' if module else 'an unnamed module'}, "
                             "not a generated MC_<preset>; say which preset with --preset")
        preset_name = by_module[module]
    return {"preset": preset_name, "engine": "tlc", "counterexamples": cex}
