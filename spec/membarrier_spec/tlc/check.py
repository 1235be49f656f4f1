"""Exactly one verdict per property: TLC stops at its first violation, so rerun it as needed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

import attrs

from ..model.properties import HOLDS, NOT_CHECKED, VIOLATED
from .results import TlcResult
from .run import run_tlc, spec_and_cfg
from .specfiles import cfg_names


def check_spec(spec: Path, cfg: Path | None = None, *, invariants: Iterable[str] | None = None,
               properties: Iterable[str] | None = None, timeout: float | None = None, name: str | None = None,
               check_deadlock: bool | None = None, on_run: Callable[[int, list[str], list[str]], None] | None = None,
               **run_kw) -> TlcResult:
    """Check every invariant and property of ``spec``, giving each exactly one verdict.

    TLC stops at the first violation, and names no temporal property when one fails.  So: run with
    everything; a violated invariant (or action property) gets its verdict and counterexample and the rest
    is checked again without it; a temporal violation with several properties pending is resolved by
    checking them one at a time; a deadlock is recorded as ``Deadlock`` and the rest rerun with ``-deadlock``;
    a violation TLC does not name (distributed TLC prints the trace but not the invariant) is narrowed down
    by bisection over the invariants of that run.  The statistics are those of a run that explored the
    whole state space (one is made if needed).  ``timeout`` bounds all runs together.
    """
    spec, cfg = spec_and_cfg(spec, cfg)
    text = cfg.read_text(errors="replace")
    invs = list(invariants) if invariants is not None else cfg_names(text, "INVARIANT")
    props = list(properties) if properties is not None else cfg_names(text, "PROPERTY")
    verdicts: dict[str, str] = {n: NOT_CHECKED for n in [*invs, *props]}
    cex: dict[str, list[dict]] = {}
    pending_inv, pending_prop = list(invs), list(props)
    one_prop_at_a_time = False
    suspects: list[str] | None = None  # invariants among which an unnamed violation was found ...
    suspect_trace: list[dict] = []     # ... and its trace
    complete_run: TlcResult | None = None
    last: TlcResult | None = None
    runs, seconds = 0, 0.0
    assumptions_held = False
    start = time.monotonic()
    notes: list[str] = []
    max_runs = 2 * len(invs) + 2 * len(props) + 4

    def violated(n: str, trace: list[dict]) -> None:
        verdicts[n] = VIOLATED
        cex[n] = trace
        for group in (pending_inv, pending_prop, suspects or []):
            if n in group:
                group.remove(n)

    while (pending_inv or pending_prop or complete_run is None) and runs < max_runs:
        remaining = None if timeout is None else timeout - (time.monotonic() - start)
        if remaining is not None and remaining <= 0:
            break
        if suspects:
            these_invs, these_props = suspects[:max(len(suspects) // 2, 1)], []
        else:
            these_invs = list(pending_inv)
            these_props = pending_prop[:1] if one_prop_at_a_time else list(pending_prop)
        if on_run:
            on_run(runs + 1, list(these_invs), list(these_props))
        r = run_tlc(spec, cfg, invariants=these_invs, properties=these_props, timeout=remaining,
                    check_deadlock=check_deadlock, name=name, **run_kw)
        runs += 1
        seconds += r.seconds
        last = r
        assumptions_held = assumptions_held or r.assumptions_held
        notes += [n for n in r.notes if n not in notes]
        if not r.finished:  # TLC's own failure: another run would fail the same way
            break
        if r.status == "ok":
            for n in these_invs + these_props:
                verdicts[n] = r.properties.get(n, HOLDS)
            pending_inv = [n for n in pending_inv if n not in these_invs]
            pending_prop = [n for n in pending_prop if n not in these_props]
            complete_run = r
            if suspects:
                suspects = [n for n in suspects if n not in these_invs]
                if len(suspects) == 1:  # the others hold, so this one is the culprit
                    violated(suspects[0], suspect_trace)
                    suspects = None
            continue
        named = [n for n, v in r.properties.items() if v == VIOLATED]
        if any(n not in these_invs + these_props and n != "Deadlock" for n in named):
            # an ASSUME is false: TLC stops before the initial states, so nothing else can be checked
            for n in named:
                violated(n, r.counterexamples.get(n, []))
            break
        if r.complete:  # a temporal violation found after the whole state space was explored
            for n in these_invs:
                verdicts[n] = HOLDS
            pending_inv = [n for n in pending_inv if n not in these_invs]
            complete_run = r
        if "Deadlock" in r.counterexamples:
            check_deadlock = False
        elif "temporal" in r.counterexamples:
            one_prop_at_a_time = True
        elif "unknown" in r.counterexamples:
            if len(these_invs) == 1:
                named.append(these_invs[0])
            else:
                suspects, suspect_trace = list(these_invs), r.counterexamples["unknown"]
                continue
        for n in named:
            violated(n, r.counterexamples.get(n, r.counterexamples.get("unknown", [])))
        if named:  # an unnamed violation among the suspects is explained; the rest are checked as usual
            suspects = None
    assert last is not None or timeout is not None
    base = complete_run or last
    if base is None:  # the timeout was used up before any run
        return TlcResult(preset=name or spec.stem, distinct_states=0, generated_states=0, depth=0, seconds=0.0,
                         properties=verdicts, counterexamples=cex, complete=False, status="timeout",
                         message="no time left to run TLC", runs=0)
    failed = not last.finished
    status = last.status if failed else ("violated" if VIOLATED in verdicts.values() else "ok")
    message = last.message if failed else ""
    unresolved = [n for n in [*pending_inv, *pending_prop] if verdicts.get(n) == NOT_CHECKED]
    if not failed and (unresolved or complete_run is None) and not any(
            n not in invs + props + ["Deadlock"] for n in verdicts):  # (a false ASSUME ends checking on purpose)
        if timeout is not None and time.monotonic() - start >= timeout:
            status, message = "timeout", f"the {timeout:g}s timeout ran out after {runs} TLC run(s)"
        else:
            status, message = "error", f"gave up after {runs} TLC runs"
        if unresolved:
            message += f"; not checked: {', '.join(unresolved)}"
    return attrs.evolve(base, properties=verdicts, counterexamples=cex, seconds=seconds, runs=runs,
                        complete=complete_run is not None, status=status, message=message,
                        exit_code=last.exit_code, assumptions_held=assumptions_held, notes=tuple(notes))
