"""A preset's exploration with its projected state graphs: what the state-graph diagrams draw, kept with the
explorer's result in the result store.

The projection keeps each workload task's program counter, membarrier() step and registers, and hides the
rest (:data:`HIDDEN`); the explorer visits every state once, so the projected graph counts states exactly.
"""

from __future__ import annotations

import attrs

from ..model.config import Config
from ..model.interface import Model
from ..model.presets import preset
from .explore import Explorer, Result, checked_invariants

PROJECTION = ("each workload task's program counter, its membarrier() step and its registers")
HIDDEN = ("CPUs (rq->curr, active_mm, context switches), rq->membarrier_state, memory, store buffers, "
          "views, pending IPIs, mm_structs")


@attrs.frozen
class Projection:
    """One scenario's reachable state graph, projected (see :data:`PROJECTION`)."""

    preset: str
    scenario: str
    tasks: tuple[str, ...]
    programs: tuple[tuple[str, ...], ...]   # each task's executable program, as text
    regs: tuple[tuple[int, ...], ...]       # for each task, the register each program step writes (-1: none)
    nodes: tuple[tuple[tuple, int, bool, tuple[str, ...]], ...]  # (key, states, initial, violated)
    edges: tuple[tuple[tuple, tuple, tuple[str, ...]], ...]      # (from, to, actions)
    states: int
    transitions: int


class ProjectingModel(Model):
    """The model, recording the projection of every state and transition the explorer visits.

    The explorer expands each reachable state exactly once, so counting in
    :meth:`successors` counts states; the checked invariants are evaluated on
    each state to mark the projected nodes that hold a violating state.
    """

    def __init__(self, config: Config, checked: tuple[str, ...] | None = None):
        super().__init__(config)
        self.invariants = checked_invariants(self, checked)
        self.nodes: dict[tuple, list] = {}
        self.edges: dict[tuple, set] = {}
        self.transitions: dict[int, int] = {}
        self._program_tasks = [tuple(t for t, spec in enumerate(layout.specs) if spec.steps)
                               for layout in self.setup.layouts]

    def key(self, s) -> tuple:
        layout = self.setup.layouts[s.scenario]
        out = [layout.workload.name]
        for t in self._program_tasks[s.scenario]:
            task = s.tasks[t]
            out.append((layout.specs[t].name, task.pc, task.call.step if task.call is not None else None,
                        task.regs, task.dead))
        return tuple(out)

    def successors(self, s):
        a = self.key(s)
        node = self.nodes.get(a)
        if node is None:
            node = self.nodes[a] = [0, set()]
        node[0] += 1
        for prop in self.invariants:
            if prop.name not in node[1] and not prop.check(self.setup, s):
                node[1].add(prop.name)
        n = 0
        for st, ns in super().successors(s):
            n += 1
            b = self.key(ns)
            if b != a:
                self.edges.setdefault((a, b), set()).add(st.action)
            yield st, ns
        self.transitions[s.scenario] = self.transitions.get(s.scenario, 0) + n

    def projections(self, preset: str) -> tuple[Projection, ...]:
        initial = {self.key(s) for s in self.initial_states()}
        out = []
        for i, layout in enumerate(self.setup.layouts):
            name = layout.workload.name
            # in the order the (deterministic) breadth-first search met them
            nodes = tuple((k, v[0], k in initial, tuple(sorted(v[1])))
                          for k, v in self.nodes.items() if k[0] == name)
            edges = tuple((a, b, tuple(sorted(acts))) for (a, b), acts in self.edges.items() if a[0] == name)
            specs = [layout.specs[t] for t in self._program_tasks[i]]
            out.append(Projection(preset, name, tuple(s.name for s in specs),
                                  tuple(tuple(str(op) for op in s.steps) for s in specs),
                                  tuple(tuple(op.reg for op in s.steps) for s in specs),
                                  nodes, edges, sum(n[1] for n in nodes), self.transitions.get(i, 0)))
        return tuple(out)


def trace_key(state: dict) -> tuple:
    """The projection key of a described state (a counterexample step), as :meth:`ProjectingModel.key`."""
    out = [state["scenario"]]
    for name, task in state["tasks"].items():
        if task["pc"] == 0 and task["next"] == "done":
            continue  # no program
        out.append((name, task["pc"], task.get("in_membarrier"), tuple(task["regs"].values()),
                    bool(task.get("dead", False))))
    return tuple(out)


@attrs.frozen
class PresetRun:
    """One preset explored: the explorer's result and its projected state graphs."""

    name: str
    result: Result
    projections: tuple[Projection, ...]


def explore_preset(name: str) -> PresetRun:
    """Explore one preset (exactly as ``membarrier-spec explore NAME`` does), recording the projection."""
    p = preset(name)
    model = ProjectingModel(p.config, p.checked)
    result = Explorer(model).run(name, p.checked)
    return PresetRun(name, result, model.projections(name))
