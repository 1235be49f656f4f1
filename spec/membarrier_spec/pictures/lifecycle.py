"""The registration lifecycle of one mm, from the sequential model: one diagram per fork and
allocation policy pair."""

from __future__ import annotations

import attrs

from .. import abi
from ..model import syscalls
from ..model.config import ALLOC_POLICIES, FORK_POLICIES, Config
from ..model.properties import COMMAND_OF_REGISTRATION
from ..model.render import state_bits
from ..syscall import sequential
from .graphviz import FONT, bit_lines, bits, esc, font, lines_html, wrap

REGIONS: tuple[tuple[str, abi.State, abi.State, abi.Cmd], ...] = (
    ("GLOBAL_EXPEDITED", abi.State.GLOBAL_EXPEDITED, abi.State.GLOBAL_EXPEDITED_READY,
     abi.Cmd.REGISTER_GLOBAL_EXPEDITED),
    ("PRIVATE_EXPEDITED", abi.State.PRIVATE_EXPEDITED, abi.State.PRIVATE_EXPEDITED_READY,
     abi.Cmd.REGISTER_PRIVATE_EXPEDITED),
    ("PRIVATE_EXPEDITED_SYNC_CORE", abi.State.PRIVATE_EXPEDITED_SYNC_CORE,
     abi.State.PRIVATE_EXPEDITED_SYNC_CORE_READY, abi.Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE),
    ("PRIVATE_EXPEDITED_RSEQ", abi.State.PRIVATE_EXPEDITED_RSEQ, abi.State.PRIVATE_EXPEDITED_RSEQ_READY,
     abi.Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ),
)
@attrs.frozen(order=True)
class Transition:
    """One step of an mm's registration state: ``event`` took ``src`` to ``dst`` returning ``ret``."""

    src: int
    dst: int
    event: str      # register | register_alloc_fails | fork | exec | clone
    cmd: int = 0    # the REGISTER command, for register events
    ret: int | None = None

    @property
    def fails(self) -> bool:
        return self.ret is not None and self.ret < 0


def registration_machine(fork_policy: str = "inherit", alloc_policy: str = "gfp_kernel_enomem"
                         ) -> tuple[tuple[int, ...], tuple[Transition, ...]]:
    """Every reachable ``mm->membarrier_state`` of one mm, and every transition, from the sequential model.

    The mm has two users (a second thread), so registration's runqueue sync
    allocates a cpumask and an injected allocation failure shows its policy's
    outcome.  Events: each REGISTER command (allocation succeeds or fails),
    ``clone`` (a thread: same mm), ``fork`` (the child's mm) and ``exec`` (the
    task's new mm).
    """
    config = Config(fork_policy=fork_policy, alloc_policy=alloc_policy)
    registers = sorted(abi.REGISTER_COMMANDS)
    seen, queue, edges = {0}, [0], set()
    while queue:
        s = queue.pop(0)
        base = sequential.Processes(tasks=(sequential.Task(0, 0), sequential.Task(0, 0)),
                                    mms=(sequential.Mm(membarrier_state=s, users=2),))
        found = []
        for cmd in registers:
            for fails in (False, True):
                p = attrs.evolve(base, fail_next_allocation=fails)
                p2, ret = sequential.membarrier(p, 0, int(cmd), 0, 0, config)
                event = "register_alloc_fails" if fails else "register"
                if fails and p2.fail_next_allocation:
                    continue  # the call allocated nothing (already READY): same as the plain event
                found.append(Transition(s, p2.mms[0].membarrier_state, event, int(cmd), ret))
        p2, child = sequential.fork(base, 0, config)
        found.append(Transition(s, p2.mm_of(child).membarrier_state, "fork"))
        p2 = sequential.exec_(base, 0)
        found.append(Transition(s, p2.mm_of(0).membarrier_state, "exec"))
        p2, thread = sequential.clone_thread(base, 0)
        found.append(Transition(s, p2.mm_of(thread).membarrier_state, "clone"))
        for t in found:
            edges.add(t)
            if t.dst not in seen:
                seen.add(t.dst)
                queue.append(t.dst)
    return tuple(sorted(seen)), tuple(sorted(edges))


def _region_of(value: int, non_ready: abi.State, ready: abi.State) -> int:
    return value & int(non_ready | ready)


def _event_label(t: Transition, alloc_policy: str, own: bool) -> str:
    """A short label: the event and what it returns (``own``: the region's REGISTER command, named in its title)."""
    if t.event == "fork":
        return "fork() (the child's mm)"
    if t.event == "exec":
        return "execve() (the new mm)"
    if t.event == "clone":
        return "clone(CLONE_THREAD)"
    name = "register" if own else abi.cmd_name(t.cmd)
    ret = abi.ret_name(t.ret)
    if t.event == "register_alloc_fails":
        how = {"gfp_kernel_enomem": "GFP_KERNEL", "gfp_nowait_fallback": "GFP_NOWAIT",
               "ewouldblock": "GFP_NOWAIT"}[alloc_policy]
        tail = ", IPI per CPU" if alloc_policy == "gfp_nowait_fallback" else ""
        return f"{name}, {how} fails{tail} → {ret}"
    return f"{name} → {ret}"


POLICY_TITLES = {
    "inherit": "fork: inherit (mainline dup_mm)",
    "clear": "fork: clear (BoF 2017, E)",
    "gfp_kernel_enomem": "allocation: GFP_KERNEL, -ENOMEM (mainline)",
    "gfp_nowait_fallback": "allocation: GFP_NOWAIT, per-CPU IPI fallback (the 2015 RFC and the 2019 racy-load thread)",
    "ewouldblock": "allocation: GFP_NOWAIT, -EWOULDBLOCK (racy-load thread 2019)",
}


def lifecycle_policies() -> list[tuple[str, str]]:
    """The (fork, allocation) policy pairs whose registration machines differ (every distinct one once)."""
    seen: dict[tuple, tuple[str, str]] = {}
    for fork in FORK_POLICIES:
        for alloc in ALLOC_POLICIES:
            _, edges = registration_machine(fork, alloc)
            key = tuple((t.src, t.dst, t.event, t.cmd, t.ret) for t in edges)
            seen.setdefault(key, (fork, alloc))
    return list(seen.values())


def lifecycle_dot(fork_policy: str = "inherit", alloc_policy: str = "gfp_kernel_enomem") -> str:
    """The registration lifecycle, drawn as one region per (X, X_READY) bit pair.

    The full machine has up to 57 state-bit sets, too many edges to read; the
    regions are its projections onto each bit pair, so the mm is in one state
    of each region at once.  Transitions that leave a pair as it was are listed
    inside the state (statechart "internal transitions", marked ↺).  Every
    drawn transition is the projection of a real one, and every transition that
    changes a pair is drawn in that pair's region (checked here, so the picture
    cannot drift from the model).
    """
    states, edges = registration_machine(fork_policy, alloc_policy)
    out = ['digraph lifecycle {',
           f'  graph [rankdir=LR, fontname="{FONT}", fontsize=11, nodesep=0.2, ranksep=0.3, '
           f'labelloc=t, labeljust=l, pad=0.2, newrank=true];',
           f'  node [fontname="{FONT}", fontsize=10, shape=plaintext];',
           f'  edge [fontname="{FONT}", fontsize=10, arrowsize=0.7];']
    sub = f"{POLICY_TITLES[fork_policy]}  ·  {POLICY_TITLES[alloc_policy]}"
    notes = [f"mm->membarrier_state takes {len(states)} values ({len(edges)} transitions) in the sequential "
             f"model. Each box is one bit pair (X, X_READY) with its REGISTER command; the mm is in one state "
             f"of each box at once. The mm has two users, so registering allocates a cpumask, which may fail.",
             "Black: returns 0.  Red dashed: returns an error.  ↺: stays in the state."]
    title = (f'<<FONT POINT-SIZE="15"><B>Registration lifecycle of one mm</B></FONT><BR ALIGN="LEFT"/>'
             f'{font(esc(sub), 11)}<BR ALIGN="LEFT"/>'
             + "".join(font(esc(x), 10, "#444444") + '<BR ALIGN="LEFT"/>' for n in notes for x in wrap(n, 100))
             + '>')
    out.append(f"  label={title};")
    drawn = set()
    ranks: dict[int, list[str]] = {}
    for r in reversed(range(len(REGIONS))):  # dot stacks the last cluster on top
        rname, non_ready, ready, own_cmd = REGIONS[r]
        values = sorted({_region_of(s, non_ready, ready) for s in states})
        moves: dict[tuple[int, int, bool], list[str]] = {}
        stays: dict[int, dict[str, list[str]]] = {v: {} for v in values}
        foreign = False
        for t in edges:
            a, b = _region_of(t.src, non_ready, ready), _region_of(t.dst, non_ready, ready)
            own = t.cmd == own_cmd
            if a == b and t.event.startswith("register") and not own:
                continue  # another pair's command, leaving this pair alone
            drawn.add((t, r))
            label = _event_label(t, alloc_policy, own)
            if t.event.startswith("register") and not own:
                label = f"{abi.cmd_name(t.cmd)} → {abi.ret_name(t.ret)} *"
                foreign = True
            if a == b:
                kind = "fails" if t.fails else "quiet" if t.event in ("fork", "exec", "clone") else "ok"
                bucket = stays[a].setdefault(kind, [])
            else:
                bucket = moves.setdefault((a, b, t.fails), [])
            if label not in bucket:
                bucket.append(label)
        out.append(f'  subgraph cluster_{r} {{')
        out.append(f'    label=<<B>{esc(abi.cmd_name(own_cmd))}</B>>; style="rounded"; color="#aaaaaa"; '
                   f'fontsize=11; margin=8;')
        for v in values:
            level = 0 if v == 0 else 1
            ranks.setdefault(level, []).append(f"r{r}_{v}")
            out.append(f'    r{r}_{v} [label={_lifecycle_node(v, non_ready, ready, own_cmd, stays[v])}];')
        for (a, b, fails), labels in sorted(moves.items()):
            style = ('color="#c0392b", fontcolor="#c0392b", style=dashed' if fails
                     else 'color="#222222", penwidth=1.2')
            if b < a:
                style += ", constraint=false"
            label = lines_html(esc(x) for x in _merge_labels(labels))
            out.append(f'    r{r}_{a} -> r{r}_{b} [label=<{label}>, {style}];')
        if foreign:
            note = f"* their atomic_or() sets {rname} too"
            out.append(f'    r{r}_note [label=<{font(esc(note), 9, "#333333")}>];')
            ranks[0].append(f"r{r}_note")
        out.append('  }')
    for level in sorted(ranks):  # the regions stack: each level of every region in one column
        out.append(f'  {{ rank=same; {"; ".join(ranks[level])}; }}')
    out.append("}")
    for t in edges:
        for r, (rname, non_ready, ready, own_cmd) in enumerate(REGIONS):
            if _region_of(t.src, non_ready, ready) != _region_of(t.dst, non_ready, ready) and (t, r) not in drawn:
                raise AssertionError(f"lifecycle: transition {t} is not drawn in region {rname}")
    return "\n".join(out) + "\n"


QUIET_EVENTS = ("clone(", "fork(", "execve(")


def _merge_labels(labels: list[str]) -> list[str]:
    """Edge label lines: the commands (wrapped), then clone/fork/execve in that order."""
    quiet = sorted((x for x in labels if x.startswith(QUIET_EVENTS)),
                   key=lambda x: [x.startswith(q) for q in QUIET_EVENTS].index(True))
    loud = sorted(x for x in labels if x not in quiet)
    return [line for x in loud for line in _wrap_label(x)] + quiet


def _quiet_names(labels: list[str]) -> str:
    """``clone(), fork()``: the events that leave a state as it was, by name."""
    return ", ".join(q + ")" for q in QUIET_EVENTS if any(x.startswith(q) for x in labels))


def _wrap_label(label: str) -> list[str]:
    """Break a long edge label after a comma or before its return value."""
    if len(label) <= 26:
        return [label]
    for sep, keep in ((", ", ","), (" → ", "")):
        head, found, tail = label.partition(sep)
        if found:
            return [head + keep, ("→ " if not keep else "") + tail]
    return [label]


def _lifecycle_node(value: int, non_ready: abi.State, ready: abi.State, own_cmd: abi.Cmd,
                    stays: dict[str, list[str]]) -> str:
    names = state_bits(value)
    reported = bool(syscalls.registrations(value) & own_cmd)
    command = COMMAND_OF_REGISTRATION[own_cmd]
    plan = syscalls.decide(int(command), 0, 0, membarrier_state=value, mm_users=2, config=Config())
    if own_cmd == abi.Cmd.REGISTER_GLOBAL_EXPEDITED:
        answer = ""  # GLOBAL_EXPEDITED needs no registration of its caller
    elif isinstance(plan, syscalls.Return):
        answer = f"{abi.cmd_name(command)} → {abi.ret_name(plan.value)}"
    else:
        answer = f"{abi.cmd_name(command)} runs"
    if value == 0:
        head, fill, border = "0 (not registered)", "#ffffff", "#666666"
    elif value & ready:
        head, fill, border = bits(names), "#e6f4ea", "#2e7d32"
    else:
        head, fill, border = bits(names), "#fff4e0", "#d98c00"
    heads = [head] if value == 0 else bit_lines(names, 36)
    rows = [f'<TR><TD ALIGN="LEFT"><B>{esc(x)}</B></TD></TR>' for x in heads]
    report = "GET_REGISTRATIONS reports it" if reported else "GET_REGISTRATIONS: not reported"
    for x in [report] + (_wrap_label(answer) if answer else []):
        rows.append(f'<TR><TD ALIGN="LEFT">{font(esc(x), 9, "#333333")}</TD></TR>')
    first = True
    for kind, color in (("ok", "#222222"), ("fails", "#c0392b"), ("quiet", "#666666")):
        labels = stays.get(kind, [])
        if kind == "quiet":
            labels = [_quiet_names(labels)] if labels else []
        for label in sorted(labels):
            sides = ' SIDES="T" BORDER="1" COLOR="#bbbbbb"' if first else ""
            first = False
            rows.append(f'<TR><TD ALIGN="LEFT"{sides}>{font("↺ " + esc(label), 9, color)}</TD></TR>')
    return (f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" STYLE="ROUNDED" '
            f'BGCOLOR="{fill}" COLOR="{border}">{"".join(rows)}</TABLE>>')
