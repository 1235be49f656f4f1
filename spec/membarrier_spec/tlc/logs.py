"""Counterexamples from a saved TLC log (plain or ``-tool`` output)."""

from __future__ import annotations

import re
import time

from .common import (MSG_ACTION_PROPERTY, MSG_BACK_TO, MSG_BEHAVIOR, MSG_COUNTEREXAMPLE, MSG_DEADLOCK, MSG_INVARIANT,
                     MSG_INVARIANT_INIT, MSG_PROPERTY_INIT, MSG_STATE, MSG_STUTTER, MSG_TEMPORAL)
from .messages import TlcMessage, parse_tool_output
from .run import Collector

_PLAIN_STATE = re.compile(r"^State (\d+): (<.*>)\s*$")
_PLAIN_STUTTER = re.compile(r"^State (\d+): Stuttering\s*$")
_PLAIN_BACK_TO = re.compile(r"^Back to state (\d+): (<.*>)\s*$")
_PLAIN_ERRORS = (  # TLC's plain "Error: ..." lines -> the -tool message each one stands for
    (re.compile(r"^Error: Invariant \S+ is violated by the initial state"), MSG_INVARIANT_INIT),
    (re.compile(r"^Error: Invariant \S+ is violated"), MSG_INVARIANT),
    (re.compile(r"^Error: Action property \S+ is violated by the initial state"), MSG_PROPERTY_INIT),
    (re.compile(r"^Error: Action property \S+ is violated"), MSG_ACTION_PROPERTY),
    (re.compile(r"^Error: Temporal properties were violated"), MSG_TEMPORAL),
    (re.compile(r"^Error: Deadlock reached"), MSG_DEADLOCK),
    (re.compile(r"^Error: The behavior up to this point is"), MSG_BEHAVIOR),
    (re.compile(r"^Error: The following behavior constitutes a counter-example"), MSG_COUNTEREXAMPLE),
)


def plain_messages(text: str) -> list[TlcMessage]:
    """TLC's plain (non ``-tool``) output as the ``-tool`` messages that carry counterexamples.

    Only what a trace needs: the violation lines, ``State N: <label>`` blocks (up to the blank line that
    ends each), ``State N: Stuttering`` and ``Back to state N: <label>``; everything else is skipped.
    """
    out: list[TlcMessage] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        i += 1
        code = next((c for rx, c in _PLAIN_ERRORS if rx.match(line)), None)
        if code is not None:
            body = line.removeprefix("Error: ")
            if code in (MSG_INVARIANT_INIT, MSG_PROPERTY_INIT):  # the state follows, up to a blank line
                while i < len(lines) and lines[i].strip():
                    body += "\n" + lines[i].rstrip()
                    i += 1
            out.append(TlcMessage(code, 1, body))
        elif m := _PLAIN_STATE.match(line):
            body = [f"{m.group(1)}: {m.group(2)}"]
            while i < len(lines) and lines[i].strip():
                body.append(lines[i].rstrip())
                i += 1
            out.append(TlcMessage(MSG_STATE, 4, "\n".join(body)))
        elif m := _PLAIN_STUTTER.match(line):
            out.append(TlcMessage(MSG_STUTTER, 4, f"{m.group(1)}: Stuttering"))
        elif m := _PLAIN_BACK_TO.match(line):
            out.append(TlcMessage(MSG_BACK_TO, 4, f"{m.group(1)}: Back to state: {m.group(2)}"))
    return out


TEMPORAL = "temporal property"  # TLC does not name the temporal property a lasso violates


def log_counterexamples(text: str) -> dict[str, list[dict]]:
    """The counterexamples in a saved TLC log (``-tool`` or plain output): ``{property: trace}``.

    Each trace has the shape of ``check --json``'s.  A temporal violation is keyed :data:`TEMPORAL`
    (TLC does not say which property it breaks), a deadlock ``Deadlock``.
    """
    if "@!@!@STARTMSG" in text:
        messages, _ = parse_tool_output(text)
    else:
        messages = plain_messages(text)
    c = Collector({}, time.monotonic())
    for msg in messages:
        c.handle(msg)
    out: dict[str, list[dict]] = {}
    for v in c.violations:
        if v.trace:
            out[v.name or (TEMPORAL if v.kind == "temporal" else v.kind)] = v.trace
    return out


_LOG_ROOT = re.compile(r"^Parsing file (?:\S*[/\\])?(\w+)\.tla\b", re.M)  # SANY parses the root module first


def log_module(text: str) -> str | None:
    """The root module a saved TLC log checked, if the log names it."""
    m = _LOG_ROOT.search(text)
    return m.group(1) if m else None
