"""A preset's reachable state graph, projected onto each task's program counter, membarrier() step
and registers; initial and violating states highlighted."""

from __future__ import annotations

import attrs

from ..check.explore import checked_invariants
from ..model.config import Config
from ..model.interface import Model
from .graphviz import FONT, digest, esc, font, lines_html, wrap
from .swimlanes import BAD

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


def _node_id(key: tuple) -> str:
    return "n" + digest(repr(key))[:12]


def state_graph_dot(proj: Projection, counterexamples: dict[str, list[dict]] | None = None) -> str:
    """The projected state graph of one scenario: initial state boxed in bold, violating nodes red,
    the counterexamples' paths drawn thick."""
    counterexamples = counterexamples or {}
    on_path: dict[tuple, list[str]] = {}
    for prop, trace in sorted(counterexamples.items()):
        keys = [trace_key(st["state"]) for st in trace if st["state"]["scenario"] == proj.scenario]
        for a, b in zip(keys, keys[1:]):
            if a != b:
                on_path.setdefault((a, b), []).append(prop)
    out = ['digraph states {',
           f'  graph [rankdir=TB, fontname="{FONT}", fontsize=11, nodesep=0.25, ranksep=0.35, labelloc=t, '
           f'labeljust=l, pad=0.2, outputorder=edgesfirst];',
           f'  node [shape=plaintext, fontname="{FONT}", fontsize=9];',
           f'  edge [fontname="{FONT}", fontsize=8, color="#777777", fontcolor="#555555", arrowsize=0.6];']
    bad = sorted({p for _, _, _, v in proj.nodes for p in v})
    notes = [f"{proj.states:,} reachable states and {proj.transitions:,} transitions, projected onto "
             f"{PROJECTION}: {len(proj.nodes)} nodes, {len(proj.edges)} edges.",
             f"Hidden: {HIDDEN}. Steps that change only hidden variables (scheduler, hardware, IPI "
             f"handlers, most kernel steps) are not drawn; an edge lists the actions that change the "
             f"projection.",
             "Bold border: the initial state.  Red: holds a state violating " + (", ".join(bad) or "nothing")
             + ".  Thick red edges: the counterexample's path."]
    title = (f'<<FONT POINT-SIZE="14"><B>{esc(proj.preset)}: reachable states of {esc(proj.scenario)}'
             f'</B></FONT><BR ALIGN="LEFT"/>'
             + "".join(font(esc(x), 9, "#444444") + '<BR ALIGN="LEFT"/>' for n in notes for x in wrap(n, 120))
             + ">")
    out.append(f"  label={title};")
    for key, count, initial, violated in proj.nodes:
        out.append(f"  {_node_id(key)} [label={_state_node(proj, key, count, initial, violated)}];")
    for a, b, actions in proj.edges:
        props = on_path.get((a, b))
        label = lines_html(esc(x) for x in wrap(", ".join(actions), 28))
        style = f', color="{BAD}", penwidth=2.4, fontcolor="{BAD}"' if props else ""
        out.append(f"  {_node_id(a)} -> {_node_id(b)} [label=<{label}>{style}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _state_node(proj: Projection, key: tuple, count: int, initial: bool, violated: tuple[str, ...]) -> str:
    rows = []
    for i, (name, pc, step, regs, dead) in enumerate(key[1:]):
        program, writes = proj.programs[i], proj.regs[i]
        if dead:
            where = "exited"
        elif pc >= len(program):
            where = "done"
        else:
            where = "▸ " + program[pc] + (f"  [{step}]" if step else "")
        done_regs = sorted({w for w in writes[:pc] if w >= 0})
        shown = "  ".join(f"r{r}={regs[r]}" for r in done_regs)
        text = f"<B>{esc(name)}</B> {esc(where)}" + (f'  {font(esc(shown), 9, "#1f4e99")}' if shown else "")
        rows.append(f'<TR><TD ALIGN="LEFT">{text}</TD></TR>')
    foot = f"{count:,} state" + ("s" if count != 1 else "")
    if violated:
        foot += "  ✗ " + ", ".join(violated)
    rows.append(f'<TR><TD ALIGN="LEFT">{font(esc(foot), 8, BAD if violated else "#777777")}</TD></TR>')
    fill = "#fdecea" if violated else "#ffffff"
    color = BAD if violated else "#222222" if initial else "#999999"
    border = 3 if initial else 2 if violated else 1
    return (f'<<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" STYLE="ROUNDED" '
            f'BGCOLOR="{fill}" COLOR="{color}">{"".join(rows)}</TABLE>>')
