"""Breadth-first exploration of a preset's reachable state graph.

Every reachable state is visited once; each invariant is evaluated on every
state, and the first violating state found is at minimal depth, so its path
from an initial state is a shortest counterexample.  ``MembarrierReturns`` is
checked on the graph: from every reachable state a state with no membarrier
call in progress must be reachable (no call can be stuck forever).

A preset explores several scenarios at once; besides the shortest
counterexample of each property, the result keeps the shortest one of every
scenario that violates it (``scenario_counterexamples``), since one bug can
hide another behind a shorter path.
"""

from __future__ import annotations

import sys
import time
from array import array
from typing import Callable, Iterable

import attrs

from ..model.config import Config
from ..model.interface import Model
from ..model.properties import HOLDS, NOT_CHECKED, PROPERTIES, VIOLATED, Kind, Property
from ..model.state import KState, Step


def checked_invariants(model: Model, checked: Iterable[str] | None = None) -> list[Property]:
    """The model's invariants among ``checked`` (every invariant when None), in the model's order."""
    return [p for p in model.properties if p.kind is Kind.INVARIANT and (checked is None or p.name in checked)]


@attrs.frozen
class Result:
    preset: str
    distinct_states: int
    transitions: int
    depth: int
    seconds: float
    properties: dict[str, str]
    counterexamples: dict[str, list[dict]]
    complete: bool = True
    scenarios: tuple[str, ...] = ()
    scenario_counterexamples: dict[str, dict[str, list[dict]]] = attrs.field(factory=dict)

    def to_json(self) -> dict:
        return {"preset": self.preset, "engine": "explorer", "distinct_states": self.distinct_states,
                "transitions": self.transitions, "depth": self.depth, "seconds": round(self.seconds, 3),
                "complete": self.complete, "scenarios": list(self.scenarios),
                "properties": self.properties, "counterexamples": self.counterexamples,
                "counterexamples_by_scenario": self.scenario_counterexamples}

    @property
    def ok(self) -> bool:
        return all(v != VIOLATED for v in self.properties.values())


class Explorer:
    """BFS over ``Model(config)``; keeps parent pointers for counterexamples."""

    def __init__(self, model: Model, *, max_states: int | None = None,
                 progress: Callable[[str], None] | None = None, check_liveness: bool = True,
                 observe: Callable[[Step], None] | None = None):
        self.model = model
        self.observe = observe  # called with the step of every transition (each edge of the graph once)
        self.max_states = max_states
        self.progress = progress
        self.check_liveness = check_liveness

    def run(self, preset: str = "", checked: tuple[str, ...] | None = None) -> Result:
        model = self.model
        start = time.monotonic()
        invariants = checked_invariants(model, checked)
        index: dict[KState, int] = {}
        states: list[KState] = []
        parent = array("i")
        depth_of = array("i")
        via: list[Step | None] = []
        first_bad: dict[str, int] = {}
        first_bad_in: dict[tuple[str, int], int] = {}  # (property, scenario) -> first violating state
        edges_src, edges_dst = array("i"), array("i")
        for s in model.initial_states():
            if s not in index:
                index[s] = len(states)
                states.append(s)
                parent.append(-1)
                depth_of.append(0)
                via.append(None)
        transitions = 0
        head = 0
        complete = True
        last_report = start
        setup = model.setup
        observe = self.observe
        while head < len(states):
            s = states[head]
            i = head
            head += 1
            for prop in invariants:
                if (prop.name, s.scenario) not in first_bad_in and not prop.check(setup, s):
                    first_bad_in[prop.name, s.scenario] = i
                    first_bad.setdefault(prop.name, i)
            for st, ns in model.successors(s):
                transitions += 1
                if observe is not None:
                    observe(st)
                j = index.get(ns)
                if j is None:
                    if self.max_states is not None and len(states) >= self.max_states:
                        complete = False
                        continue
                    j = len(states)
                    index[ns] = j
                    states.append(ns)
                    parent.append(i)
                    depth_of.append(depth_of[i] + 1)
                    via.append(st)
                if self.check_liveness:
                    edges_src.append(i)
                    edges_dst.append(j)
            if self.progress and head % 2048 == 0:
                now = time.monotonic()
                if now - last_report > 2.0:
                    last_report = now
                    rate = len(states) / max(now - start, 1e-9)
                    self.progress(f"{preset or 'explore'}: {len(states):,} states, {head:,} expanded, "
                                  f"depth {depth_of[head - 1]}, {rate:,.0f} states/s")
        verdicts: dict[str, str] = {}
        cex: dict[str, list[dict]] = {}
        for prop in invariants:
            if prop.name in first_bad:
                verdicts[prop.name] = VIOLATED
                cex[prop.name] = self._trace(states, parent, via, first_bad[prop.name])
            else:
                verdicts[prop.name] = HOLDS if complete else NOT_CHECKED
        for prop in model.properties:
            if prop.kind is Kind.INVARIANT and prop.name not in verdicts:
                verdicts[prop.name] = NOT_CHECKED
        names = [layout.workload.name for layout in setup.layouts]
        by_scenario: dict[str, dict[str, list[dict]]] = {}
        if len(names) > 1:
            for (name, sc), i in sorted(first_bad_in.items()):
                if name in cex:
                    by_scenario.setdefault(name, {})[names[sc]] = (
                        cex[name] if i == first_bad[name] else self._trace(states, parent, via, i))
        for prop in model.properties:
            if prop.kind is Kind.STATIC:
                verdicts[prop.name] = HOLDS if prop.decide(model.config) else VIOLATED
            elif prop.kind is Kind.LIVENESS:
                if not (self.check_liveness and complete):
                    verdicts[prop.name] = NOT_CHECKED
                    continue
                stuck = self._stuck_state(states, edges_src, edges_dst, lambda s: prop.check(model.setup, s))
                verdicts[prop.name] = HOLDS if stuck is None else VIOLATED
                if stuck is not None:
                    cex[prop.name] = self._trace(states, parent, via, stuck)
        if checked is not None:
            for name in verdicts:
                if name not in checked:
                    verdicts[name] = NOT_CHECKED
                    cex.pop(name, None)
                    by_scenario.pop(name, None)
        verdicts = {p.name: verdicts[p.name] for p in PROPERTIES}
        return Result(preset=preset, distinct_states=len(states), transitions=transitions,
                      depth=max(depth_of) if depth_of else 0, seconds=time.monotonic() - start,
                      properties=verdicts, counterexamples=cex, complete=complete,
                      scenarios=tuple(model.config.scenarios), scenario_counterexamples=by_scenario)

    def _trace(self, states, parent, via, i: int) -> list[dict]:
        path = []
        while i != -1:
            path.append(i)
            i = parent[i]
        path.reverse()
        return trace_records(self.model, [via[k] for k in path], [states[k] for k in path])

    def _stuck_state(self, states, src, dst, goal) -> int | None:
        """A reachable state from which no state satisfying ``goal`` is reachable (None: there is none)."""
        n = len(states)
        rev: list[list[int]] = [[] for _ in range(n)]
        for a, b in zip(src, dst):
            rev[b].append(a)
        good = [goal(s) for s in states]
        seen = bytearray(n)
        stack = [i for i in range(n) if good[i]]
        for i in stack:
            seen[i] = 1
        while stack:
            b = stack.pop()
            for a in rev[b]:
                if not seen[a]:
                    seen[a] = 1
                    stack.append(a)
        for i in range(n):
            if not seen[i]:
                return i
        return None


def trace_records(model: Model, steps: list[Step | None], states: list[KState]) -> list[dict]:
    """A path in the shape of ``explore --json`` counterexamples: each step (None: the initial state) with the
    state it leads to, described."""
    return [{"action": st.action if st else "Init", "args": dict(st.args) if st else {}, "state": model.describe(s)}
            for st, s in zip(steps, states)]


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def explore(config: Config, preset: str = "", *, max_states: int | None = None, progress=None,
            checked: tuple[str, ...] | None = None) -> Result:
    return Explorer(Model(config), max_states=max_states, progress=progress).run(preset, checked)
