"""A preset's reachable state graph, projected onto each task's program counter, membarrier() step
and registers; initial and violating states highlighted."""

from __future__ import annotations

from ..check.projection import HIDDEN, PROJECTION, Projection, trace_key
from .graphviz import FONT, digest, esc, font, lines_html, wrap
from .swimlanes import BAD


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
