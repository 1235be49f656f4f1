"""Diagrams for design reviews, rendered with graphviz's ``dot``.

* :func:`lifecycle_dot`: the registration lifecycle of one mm, from the
  sequential model (:mod:`membarrier_spec.sequential`), one diagram per fork /
  allocation policy pair.
* :func:`state_graph_dot`: a preset's reachable state graph, projected onto
  each task's program counter, membarrier() step and registers (the projection
  is stated on the diagram), initial and violating states highlighted.
* :func:`swimlane_dot`: a counterexample as a sequence diagram, one lane per
  CPU and one for memory.  It takes exactly the list the explorer reports
  (``[{"action", "args", "state"}]``, states as
  :func:`membarrier_spec.render.describe_state` gives them), so a TLC trace
  converted to that shape renders byte for byte the same.
* :func:`verdict_matrix_dot` / :func:`verdict_markdown`: presets by
  properties, each ✗ linking to its swimlane.

:func:`diagram_files` renders everything ``diagrams/`` holds (``membarrier-spec
diagrams`` writes it there); the output is deterministic (same inputs and
graphviz build, same bytes), and ``diagrams/MANIFEST`` records a hash of every
diagram's dot source plus the graphviz build that rendered it, so a stale
directory is detected even on a machine whose graphviz renders slightly
different bytes.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable, Iterable

import attrs

from . import abi, sequential, syscalls
from .config import ALLOC_POLICIES, FORK_POLICIES, Config
from .errors import MembarrierSpecError
from . import files
from .explore import HOLDS, NOT_CHECKED, VIOLATED, Explorer, Result, checked_invariants
from .model import Model
from .state import ACTION_TEXT
from .presets import COLUMNS, PRESETS, preset
from .properties import BY_NAME
from .render import state_bits
from .workloads import SCENARIOS

FONT = "Helvetica,Arial,sans-serif"
MONO = "Courier New,Courier,monospace"
INSTALL_HINT = "apt-get install graphviz"


class DiagramError(MembarrierSpecError):
    """Rendering cannot proceed (no dot, unwritable output); one line, exit status 2."""


# --------------------------------------------------------------------------------------------------
# graphviz plumbing
# --------------------------------------------------------------------------------------------------

def dot_path() -> str:
    """The ``dot`` executable, or a one-line DiagramError saying how to install it."""
    found = shutil.which("dot")
    if found is None:
        raise DiagramError(f"graphviz's dot was not found on PATH; rendering diagrams needs it ({INSTALL_HINT})")
    return found


def dot_version() -> str:
    """``dot -V``'s line, e.g. ``dot - graphviz version 2.43.0 (0)``."""
    proc = subprocess.run([dot_path(), "-V"], capture_output=True, text=True)
    return (proc.stderr or proc.stdout).strip().splitlines()[0] if (proc.stderr or proc.stdout) else "dot"


def render(source: str, fmt: str) -> bytes:
    """Run ``dot -T<fmt>`` on ``source``; a failure is a one-line DiagramError."""
    try:
        proc = subprocess.run([dot_path(), f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        raise DiagramError(f"dot -T{fmt} took more than 300 s") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiagramError(f"dot -T{fmt} failed: {err[-1] if err else 'exit status ' + str(proc.returncode)}")
    return proc.stdout


def esc(text: object) -> str:
    """Escape text for a graphviz HTML-like label."""
    return html.escape(str(text), quote=True)


def wrap(text: str, width: int) -> list[str]:
    """Wrap at spaces and after an opening parenthesis; an identifier is never cut (it may overflow)."""
    out: list[str] = []
    for para in str(text).split("\n"):
        if len(para) > width and "(" in para and " " not in para.split("(", 1)[0]:
            head, rest = para.split("(", 1)
            if len(head) + 1 + len(rest) > width:
                out.append(head + "(")
                para = "  " + rest
        indent = "  " if para.startswith("  ") else ""
        out += textwrap.wrap(para, width, break_long_words=False, break_on_hyphens=False,
                             initial_indent=indent, subsequent_indent=indent) or [""]
    return out


def font(text: str, size: float | None = None, color: str | None = None, face: str | None = None) -> str:
    attrs_ = "".join(f' {k}="{v}"' for k, v in (("POINT-SIZE", size), ("COLOR", color), ("FACE", face)) if v)
    return f"<FONT{attrs_}>{text}</FONT>" if attrs_ else text


def lines_html(lines: Iterable[str], align: str = "LEFT") -> str:
    """Already escaped lines joined with left-aligned breaks."""
    return f'<BR ALIGN="{align}"/>'.join(lines) + f'<BR ALIGN="{align}"/>'


def bits(value: str) -> str:
    """``A|B`` -> ``A | B`` (readable, and wrappable)."""
    return " | ".join(value.split("|"))


def bit_lines(value: str, width: int) -> list[str]:
    """``A|B|C`` as lines of at most ``width`` characters, continuation lines starting with ``| ``."""
    lines: list[str] = []
    for name in value.split("|"):
        if lines and len(lines[-1]) + 3 + len(name) <= width:
            lines[-1] += " | " + name
        else:
            lines.append(("| " if lines else "") + name)
    return lines


def digest(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------------
# 1. registration lifecycle (sequential model)
# --------------------------------------------------------------------------------------------------

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
_EXPEDITED_OF = {abi.Cmd.REGISTER_GLOBAL_EXPEDITED: abi.Cmd.GLOBAL_EXPEDITED,
                 abi.Cmd.REGISTER_PRIVATE_EXPEDITED: abi.Cmd.PRIVATE_EXPEDITED,
                 abi.Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: abi.Cmd.PRIVATE_EXPEDITED_SYNC_CORE,
                 abi.Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ: abi.Cmd.PRIVATE_EXPEDITED_RSEQ}


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
    command = _EXPEDITED_OF[own_cmd]
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


# --------------------------------------------------------------------------------------------------
# 3. counterexample swimlanes
# --------------------------------------------------------------------------------------------------

IPI_COLOR = "#d95f02"
BAD = "#c0392b"
LANE_FILLS = ("#eaf1fb", "#edf6e8", "#fbf1e4", "#f3edf9")
MEM_FILL = "#f2f2f2"
HW_COLOR = "#8a8a8a"
LANE_W, MEM_W, NUM_W, GUT_W = 265, 175, 24, 11

IPI_HANDLER_EFFECT = {"ipi_mb": "smp_mb()", "ipi_sync_core": "smp_mb(); sync_core()",
                      "ipi_rseq": "smp_mb(); rseq_preempt()",
                      "ipi_sync_rq_state": "rq->membarrier_state = mm's; smp_mb()"}
EXPEDITED_NAMES = frozenset(abi.cmd_name(c) for c in abi.EXPEDITED_COMMANDS)

GHOST_SENTENCES = {
    "stale_code_executed": "a thread of the mm ran stale code after PRIVATE_EXPEDITED_SYNC_CORE returned 0",
    "freed_mm_read": "membarrier read an mm_struct after it was freed",
    "spurious_ipi": "PRIVATE_EXPEDITED interrupted a CPU it had not seen running the caller's mm",
    "rq_lock_taken": "membarrier took a runqueue lock",
    "thread_targeted": "membarrier interacted with each thread of the mm instead of each CPU",
    "sched_mb_unregistered": "a context switch between unregistered processes ran a barrier added for membarrier",
    "expedited_may_sleep": "an expedited command reached a GFP_KERNEL allocation, which may sleep",
    "registration_not_atomic": "a registration returned an error after changing the mm's state bits",
}


@attrs.define
class Cell:
    """What one lane shows at one step (plain text; escaped when drawn)."""

    title: str = ""
    who: str = ""
    lines: list[str] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    kind: str = "kernel"     # kernel | user | hw | handler | note
    barrier: str = ""        # "" | full | missing
    barrier_label: str = ""
    bad: bool = False


@attrs.define
class Ipi:
    src: int
    dst: int
    start: int
    end: int | None
    handler: str


def _cpus_arg(text) -> list[int]:
    return [int(x) for x in str(text).split(",") if x.strip().isdigit()]


def _fmt_map(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items()) or "empty"


def _task_mm(state: dict, task: str) -> str:
    t = state["tasks"].get(task)
    return t["mm"] if t else "NULL"


def _load_source(prev: dict, lane: int, var: str) -> str:
    """Where a load's value came from, and any newer store it missed."""
    cpu, memory = prev["cpus"][lane], prev["memory"]
    if var in cpu.get("store_buffer", {}):
        return "from its own store buffer"
    where = f"stale view: memory has {var} = {memory[var]}" if var in cpu.get("view", {}) else "from memory"
    buffered = [f"CPU {c} still buffers {var} = {other['store_buffer'][var]}"
                for c, other in enumerate(prev["cpus"]) if c != lane and var in other.get("store_buffer", {})]
    return "; ".join([where] + buffered)


def _step_cells(k: int, action: str, args: dict, prev: dict, cur: dict, trace: list[dict]) -> dict:
    """The acting lane's cell (and every lane a grace period touches); a note spanning every lane if the
    step names no CPU."""
    cells: dict = {}
    ncpus = len(cur["cpus"])
    lane = args.get("cpu")
    if not isinstance(lane, int) or not 0 <= lane < ncpus:
        cell = Cell(title=action, lines=[", ".join(f"{a}={b}" for a, b in args.items())], kind="note")
        return {"span": cell}
    task = args.get("task", "")
    cell = Cell(title=action, who=str(task))
    get = args.get
    if action == "store":
        cell.kind, cell.title = "user", f"store  {get('var')} = {get('value')}"
    elif action == "load":
        cell.kind = "user"
        cell.title = f"load  {get('reg')} = {get('var')}  → {get('value')}"
        cell.lines.append(_load_source(prev, lane, get("var")))
    elif action in ("smp_mb", "smp_mb_entry", "after_rq_curr_mb"):
        cell.title = "smp_mb()"
        cell.barrier, cell.barrier_label = "full", "smp_mb()"
        if action == "smp_mb":
            cell.kind = "user"  # a litmus program's own barrier
        else:
            cell.lines.append(ACTION_TEXT[action].split("(", 1)[1].rstrip(")"))
        if get("next") is not None:
            cell.who = ""
    elif action == "sys_membarrier":
        cell.kind, cell.title = "user", f"sys_membarrier({get('cmd')})"
        if get("returns") is not None:
            cell.lines.append(f"returns {get('returns')} at once")
        elif get("cmd") in EXPEDITED_NAMES and not _entry_mb_follows(trace, k, lane, task):
            cell.barrier, cell.barrier_label = "missing", "no entry smp_mb()"
    elif action == "zalloc_cpumask_var":
        cell.title = f"zalloc_cpumask_var({get('gfp')})"
        cell.lines.append(str(get("result")) + ("  (may sleep)" if get("gfp") == "GFP_KERNEL" else ""))
    elif action == "read_rq_curr":
        cell.title = f"read_rq_curr(cpu {get('target')})"
        cell.lines.append(f"cpu_rq({get('target')})->curr = {get('curr')}")
        source = _load_source(prev, lane, f"rq[{get('target')}]->curr")
        if source != "from memory":
            cell.lines.append(source)
        if get("ipi"):
            cell.lines.append(f"→ IPI CPU {get('target')}: it runs {_task_mm(prev, task)}")
        else:
            mm = _task_mm(prev, get("curr"))
            why = "a kernel thread" if get("curr") not in prev["tasks"] else \
                "exited" if mm == "NULL" else f"mm {mm}"
            cell.lines.append(f"→ skip CPU {get('target')}: {get('curr')} is {why}")
    elif action == "rq_lock_read_curr":
        cell.title = f"rq_lock_read_curr(cpu {get('target')})"
        cell.lines.append(f"raw_spin_lock(&cpu_rq({get('target')})->lock)")
        cell.lines.append(f"curr = {get('curr')} → " + ("IPI" if get("ipi") else "skip"))
    elif action == "cpumask_setall":
        cell.title = "cpumask_setall(tmpmask)"
        cell.lines.append("IPI every other online CPU, whatever it runs")
    elif action == "for_each_thread":
        cell.title = "for_each_thread(mm)"
        cell.lines.append("IPI each running thread, flag the others (TIF)")
    elif action == "read_rq_membarrier_state":
        cell.title = f"read_rq_membarrier_state(cpu {get('target')})"
        has = "has" if get("rq_state") else "lacks"
        cell.lines.append(f"curr = {get('curr')}; rq->membarrier_state {has} GLOBAL_EXPEDITED")
        cell.lines.append(f"→ IPI CPU {get('target')}" if get("ipi") else f"→ skip CPU {get('target')}")
    elif action == "read_rq_curr_mm":
        cell.title = f"read_rq_curr_mm(cpu {get('target')})"
        cell.lines.append(f"p = cpu_rq({get('target')})->curr = {get('curr')}; mm = p->mm = {get('mm')}")
        cell.lines.append("no reference is taken on the mm")
    elif action == "read_mm_membarrier_state":
        cell.title = f"read_mm_membarrier_state({get('mm')})"
        cell.lines.append(f"atomic_read(&{get('mm')}->membarrier_state)")
        if get("freed"):
            cell.lines.append(f"mm {get('mm')} was freed: use after free")
        cell.lines.append(f"→ IPI CPU {get('target')}" if get("ipi") else f"→ skip CPU {get('target')}")
    elif action == "smp_call_function_many":
        targets = _cpus_arg(get("cpus"))
        cell.title = f"smp_call_function_many({get('handler')})"
        cell.lines.append("tmpmask = {" + ", ".join(map(str, targets)) + "}" if targets else
                          "tmpmask is empty: no IPI")
        if lane in targets:
            cell.lines.append(f"runs {get('handler')} here: {IPI_HANDLER_EFFECT.get(get('handler'), '')}")
            cell.barrier, cell.barrier_label = "full", f"{get('handler')}: smp_mb()"
    elif action == "membarrier_return":
        cell.title = "membarrier_return"
        cell.lines.append(f"every IPI handled; returns {get('returns')}")
        if get("smp_mb"):
            cell.barrier, cell.barrier_label = "full", "smp_mb() (exit)"
        else:
            cell.barrier, cell.barrier_label = "missing", "no exit smp_mb()"
    elif action == "atomic_or":
        cell.title = "atomic_or"
        cell.lines.append(f"{bits(str(get('bits')))} into {_task_mm(prev, task)}->membarrier_state")
    elif action == "atomic_or_ready":
        cell.title = "atomic_or_ready"
        cell.lines.append(f"{bits(str(get('bits')))} into {_task_mm(prev, task)}->membarrier_state")
        cell.lines.append(f"returns {get('returns')}")
    elif action == "sync_local_rq":
        cell.title = "sync_local_rq"
        cell.lines.append("this CPU's rq->membarrier_state = the mm's")
        cell.barrier, cell.barrier_label = "full", "smp_mb()"
    elif action == "synchronize_rcu":
        cell.title = "synchronize_rcu()"
        cell.lines.append("grace period: every CPU passes a full barrier")
        if get("returns") is not None:
            cell.lines.append(f"returns {get('returns')}")
        cell.barrier, cell.barrier_label = "full", "grace period"
        for other in range(ncpus):
            if other != lane:
                cells[other] = Cell(kind="note", barrier="full", barrier_label="grace period (RCU)")
    elif action.startswith("ipi_") and "caller" in args:
        cell.kind, cell.title, cell.who = "handler", action, ""
        cell.lines.append(f"IPI from {get('caller')}; curr = {get('curr')}")
        effect = IPI_HANDLER_EFFECT.get(action, "")
        if action == "ipi_sync_rq_state" and _task_mm(prev, get("curr")) != _task_mm(prev, get("caller")):
            effect = "curr runs another mm: nothing to do"
        else:
            cell.barrier, cell.barrier_label = "full", "smp_mb()"
        if effect:
            cell.lines.append(effect)
    elif action == "schedule":
        cell.title = f"__schedule  {get('prev')} → {get('next')}"
        cell.lines.append("rq lock; smp_mb__after_spinlock()")
        cell.barrier, cell.barrier_label = "full", "smp_mb__after_spinlock()"
    elif action == "rq_curr_store":
        cell.title = f"rq_curr_store  rq->curr = {get('next')}"
        cell.lines.append("a plain store: it sits in the store buffer")
    elif action == "switch_mm":
        cell.title = f"switch_mm  {get('prev')} → {get('next')}"
        if get("implied_mb"):
            cell.barrier, cell.barrier_label = "full", "switch_mm implies smp_mb()"
        elif get("prev") != get("next"):
            cell.barrier, cell.barrier_label = "missing", "switch_mm implies no barrier"
        else:
            cell.lines.append("same mm: no switch, no barrier")
        rq_state = cur["cpus"][lane].get("rq->membarrier_state", "0")
        mm_state = cur["mms"].get(get("next"), {}).get("membarrier_state")
        if mm_state is not None and rq_state != mm_state:
            cell.lines.append(f"rq->membarrier_state stays {bits(rq_state)}; mm {get('next')}'s is "
                              f"{bits(mm_state)}")
    elif action == "membarrier_arch_switch_mm":
        cell.title = f"membarrier_arch_switch_mm({get('next')})"
        if get("smp_mb"):
            cell.barrier, cell.barrier_label = "full", "smp_mb(): next mm registered"
        else:
            cell.barrier, cell.barrier_label = "missing", "no smp_mb(): next mm not registered"
    elif action == "finish_task_switch":
        cell.title = f"finish_task_switch → {get('next')}"
        does = str(get("does", "-"))
        if does != "-":
            cell.lines.append(does)
        if "smp_mb" in does:
            cell.barrier, cell.barrier_label = "full", [x for x in does.split("; ") if "smp_mb" in x][0]
        elif "mmdrop(" in does:
            cell.barrier, cell.barrier_label = "missing", "mmdrop() without a full barrier"
    elif action == "exit_mm":
        cell.kind, cell.title = "user", "exit_mm()"
        if get("smp_mb"):
            cell.lines.append("smp_mb(); current->mm = NULL")
            cell.barrier, cell.barrier_label = "full", "smp_mb()"
        else:
            cell.lines.append("current->mm = NULL")
            cell.barrier, cell.barrier_label = "missing", "no smp_mb() before current->mm = NULL"
    elif action == "modify_code":
        cell.kind, cell.title = "user", "modify_code"
        cell.lines.append("rewrites the code: every CPU may hold the old stream")
    elif action == "execute_code":
        cell.kind, cell.title = "user", "execute_code"
        cell.lines.append("runs the OLD instruction stream" if get("stale") else "runs the new code")
    elif action == "drain":
        cell.kind, cell.who = "hw", ""
        cell.title = f"drain: {get('var')} = {get('value')} leaves the store buffer"
    elif action == "propagate":
        cell.kind, cell.who = "hw", ""
        cell.title = f"propagate: its view catches up, {get('var')} = {get('value')}"
    else:
        cell.lines.append(", ".join(f"{a}={b}" for a, b in args.items() if a not in ("cpu", "task")))
    cells[lane] = cell
    return cells


def _entry_mb_follows(trace: list[dict], k: int, lane: int, task) -> bool:
    """Whether the task's next step in the trace (after sys_membarrier at ``k``) is the entry smp_mb()."""
    for st in trace[k + 1:]:
        a = st["args"]
        if a.get("cpu") == lane and a.get("task") == task:
            return st["action"] == "smp_mb_entry"
    return True  # the trace ends first: nothing to say


def _cpu_notes(prev: dict, cur: dict, memory: dict) -> list[str]:
    """What changed on a CPU, in the kernel's names: store buffer, lagging view, rq state, code."""
    out = []
    if prev.get("store_buffer") != cur.get("store_buffer"):
        out.append("store buffer: " + _fmt_map(cur.get("store_buffer", {})))
    if prev.get("view") != cur.get("view"):
        lag = cur.get("view", {})
        out.append("view lags: " + ", ".join(f"{k}={v} (memory {memory.get(k)})" for k, v in lag.items())
                   if lag else "view: up to date")
    if prev.get("rq->membarrier_state") != cur.get("rq->membarrier_state"):
        out.append("rq->membarrier_state = " + bits(cur.get("rq->membarrier_state", "0")))
    if prev.get("instruction_stream") != cur.get("instruction_stream"):
        out.append("instruction stream: " + ("stale" if cur.get("instruction_stream") else "synced"))
    if prev.get("active_mm") != cur.get("active_mm") and prev.get("curr") == cur.get("curr"):
        out.append(f"active_mm = {cur.get('active_mm')}")
    return out


def _memory_notes(prev: dict, cur: dict) -> list[str]:
    out = []
    for var, value in cur["memory"].items():
        if prev["memory"].get(var) != value:
            out.append(f"{var} = {value}")
    for name, mm in cur["mms"].items():
        old = prev["mms"].get(name, {})
        if old.get("membarrier_state") != mm.get("membarrier_state"):
            out.append(f"{name}->membarrier_state = {bits(mm.get('membarrier_state', '0'))}")
        if old.get("mm_users") != mm.get("mm_users"):
            out.append(f"{name}->mm_users = {mm.get('mm_users')}")
        if old.get("lazy_refs") != mm.get("lazy_refs"):
            out.append(f"{name}: {mm.get('lazy_refs')} lazy reference(s)")
        if mm.get("freed") and not old.get("freed"):
            out.append(f"mm {name} is freed")
    for name, task in cur["tasks"].items():
        old = prev["tasks"].get(name, {})
        if old.get("mm") != task.get("mm"):
            out.append(f"{name}->mm = {task.get('mm')}")
        if task.get("TIF_MEMBARRIER") and not old.get("TIF_MEMBARRIER"):
            out.append(f"{name}: TIF flag set")
    return out


def _ipis(trace: list[dict]) -> list[Ipi]:
    """Pair each smp_call_function_many target with the handler step that serves it (or none yet)."""
    pending: dict[tuple, Ipi] = {}
    done: list[Ipi] = []
    for k, st in enumerate(trace[1:], 1):
        a, action = st["args"], st["action"]
        if action == "smp_call_function_many":
            for target in _cpus_arg(a.get("cpus")):
                if target != a.get("cpu"):
                    pending[(target, a.get("handler"), a.get("task"))] = Ipi(a.get("cpu"), target, k, None,
                                                                             a.get("handler"))
        elif action.startswith("ipi_") and "caller" in a:
            ipi = pending.pop((a.get("cpu"), action, a.get("caller")), None)
            if ipi is not None:
                ipi.end = k
                done.append(ipi)
    return sorted(done + list(pending.values()), key=lambda i: (i.start, i.dst))


def _violation(trace: list[dict], prop: str, config: Config | None) -> list[str]:
    """The forbidden outcome or broken promise, in words, from the last state."""
    last, before = trace[-1]["state"], trace[-2]["state"] if len(trace) > 1 else trace[-1]["state"]
    out: list[str] = []
    if prop == "Ordering":
        workload = SCENARIOS[last["scenario"]](config or Config())
        programs = {t.name: t.steps for t in workload.tasks}
        per_task: dict[str, list[str]] = {}
        for name, reg, value in workload.forbidden:
            op = next((str(o) for o in programs.get(name, ()) if o.reg == reg), f"r{reg}")
            got = last["tasks"][name]["regs"].get(f"r{reg}")
            per_task.setdefault(name, []).append(f"{op} → {got}")
        out.append("the forbidden outcome is reached:")
        out += [f"    {name}:  " + ",  ".join(parts) for name, parts in per_task.items()]
    elif prop == "RqStateCovers":
        for c, cpu in enumerate(last["cpus"]):
            task = last["tasks"].get(cpu["curr"])
            if task and "switch" not in cpu and task["mm"] in last["mms"]:
                mm_state = last["mms"][task["mm"]]["membarrier_state"]
                if "READY" in mm_state:
                    out.append(f"CPU {c} runs {cpu['curr']} (mm {task['mm']}: {bits(mm_state)}) but its "
                               f"rq->membarrier_state is {bits(cpu['rq->membarrier_state'])}")
    elif prop == "RegistrationReportTruthful":
        for name, mm in last["mms"].items():
            value = _state_value(mm["membarrier_state"])
            for pair, register in abi.REGISTRATION_PAIRS:
                command = _EXPEDITED_OF[register]
                plan = syscalls.decide(int(command), 0, 0, membarrier_state=value, mm_users=2,
                                       config=config or Config())
                if value & pair and plan == syscalls.Return(-abi.EPERM):
                    out.append(f"mm {name} is {bits(mm['membarrier_state'])}: GET_REGISTRATIONS reports "
                               f"{abi.cmd_name(register)}, yet {abi.cmd_name(command)} returns -EPERM")
    new = [g for g in last.get("ghost", []) if g not in before.get("ghost", [])]
    out += [GHOST_SENTENCES.get(g, g) for g in new]
    if not out:
        out.append(BY_NAME[prop].doc if prop in BY_NAME else f"{prop} is violated")
    return out


def _state_value(text: str) -> int:
    return 0 if text in ("0", "") else int(sum(abi.State[b] for b in text.split("|")))


def swimlane_dot(trace: list[dict], prop: str, *, title: str = "", subtitle: str = "",
                 config: Config | None = None) -> str:
    """A counterexample as a sequence diagram: one lane per CPU and one for memory and the mm_structs.

    ``trace`` is exactly the explorer's counterexample (``Init`` first, then
    one ``{"action", "args", "state"}`` per step).  Every step is drawn, in
    order; hardware steps (store-buffer drains, view propagation) are grey.
    ``config`` (the preset's) only supplies the litmus programs shown on top.
    """
    if not trace:
        raise DiagramError("an empty counterexample has nothing to draw")
    init = trace[0]["state"]
    ncpus = len(init["cpus"])
    n = len(trace) - 1
    # -- interpret every step ----------------------------------------------------------------------
    rows: list[dict] = []
    for k in range(1, n + 1):
        st, prev, cur = trace[k], trace[k - 1]["state"], trace[k]["state"]
        cells = _step_cells(k, st["action"], st["args"], prev, cur, trace)
        for c in range(ncpus):
            notes = _cpu_notes(prev["cpus"][c], cur["cpus"][c], cur["memory"])
            if notes:
                cells.setdefault(c, Cell(kind="note")).notes += notes
        mem = _memory_notes(prev, cur)
        if mem:
            cells["mem"] = Cell(kind="note", notes=mem)
        if k == n:
            for key, cell in cells.items():
                if key != "mem" and cell.kind != "note":
                    cell.bad = True
        rows.append(cells)
    ipis = _ipis(trace)
    pending_cells: dict = {}
    # -- IPI paths in the gutters: gut[(gutter, row, half, part)] = {"F" fill, "B" bottom edge} ----------
    # Each gutter has three columns (pad, line, pad); the vertical run is the filled middle column,
    # the sending stub is the top edge of bottom-half cells (the middle of the step's row), and the
    # arrowhead is a glyph centred on the middle of the handler's row.
    gut: dict[tuple[int, int, int, int], set] = {}
    arrow: dict[tuple[int, int], str] = {}

    def mark(g, r, half, part, what):
        gut.setdefault((g, r, half, part), set()).add(what)

    for ipi in ipis:
        end = ipi.end if ipi.end is not None else n + 1  # the "end" row when never handled
        right = ipi.dst > ipi.src
        g = ipi.dst - 1 if right else ipi.dst
        crossed = range(ipi.src, g) if right else range(g + 1, ipi.src)
        for gg in crossed:
            for part in range(3):
                mark(gg, ipi.start, 1, part, "T")
        mark(g, ipi.start, 1, 0 if right else 2, "T")
        mark(g, ipi.start, 1, 1, "F")
        for r in range(ipi.start + 1, end):
            mark(g, r, 0, 1, "F")
            mark(g, r, 1, 1, "F")
        mark(g, end, 0, 1, "F")
        arrow[(g, end)] = "R" if right else "L"
        for c in range(min(ipi.src, ipi.dst) + 1, max(ipi.src, ipi.dst)):  # lanes crossed at the send
            rows[ipi.start - 1].setdefault(c, Cell(kind="note")).lines.insert(0, f"── IPI to CPU {ipi.dst} ──▶")
        if ipi.end is None:
            pending_cells[ipi.dst] = Cell(kind="note", lines=[f"{ipi.handler}: IPI from CPU {ipi.src} "
                                                              f"not handled when the trace ends"])
    # -- the table -----------------------------------------------------------------------------------
    ncols = 1 + ncpus + 1 + len(GUTTER_PARTS) * ncpus
    t: list[str] = ['<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">']
    scenario = init["scenario"]
    workload = SCENARIOS[scenario](config or Config()) if scenario in SCENARIOS else None
    head = title or f"Counterexample: {prop} violated"
    sub = (f"{subtitle} · " if subtitle else "") + f"{n} steps · workload {scenario}"
    t.append(f'<TR><TD COLSPAN="{ncols}" ALIGN="LEFT" CELLPADDING="4">'
             + "".join(font("<B>" + esc(x) + "</B>", 15) + '<BR ALIGN="LEFT"/>' for x in wrap(head, 80))
             + "".join(font(esc(x), 11) + '<BR ALIGN="LEFT"/>' for x in wrap(sub, 110))
             + (lines_html(font(esc(x), 10, "#444444") for x in wrap(workload.story, 120)) if workload else "")
             + '</TD></TR>')
    if workload is not None and config is not None:
        progs = []
        for spec in workload.tasks:
            if spec.program:
                prog = wrap("; ".join(str(op) for op in spec.program), 100)
                progs.append(f"<B>{esc(spec.name)}</B> (mm {esc(spec.mm)}): " + font(esc(prog[0]), 10, face=MONO))
                progs += ["      " + font(esc(x), 10, face=MONO) for x in prog[1:]]
        t.append(f'<TR><TD COLSPAN="{ncols}" ALIGN="LEFT" CELLPADDING="4" BGCOLOR="#fafafa" SIDES="TB" '
                 f'BORDER="1" COLOR="#dddddd">{lines_html(font(p, 10) for p in progs)}</TD></TR>')
    legend = ('▬ full barrier    ▭ a barrier this preset lacks    '
              'orange ─▶ IPI    grey: hardware (store buffer drain, view propagation)')
    t.append(f'<TR><TD COLSPAN="{ncols}" ALIGN="LEFT" CELLPADDING="4">{font(esc(legend), 9, "#555555")}</TD></TR>')
    # header row
    cols = [f'<TD WIDTH="{NUM_W}"></TD>']
    for c in range(ncpus):
        cols.append(f'<TD WIDTH="{LANE_W}" BGCOLOR="{LANE_FILLS[c % 4]}" CELLPADDING="5">'
                    f'<B>CPU {c}</B></TD>')
        cols.append("".join(f'<TD WIDTH="{w}"></TD>' for w in GUTTER_PARTS))
    cols.append(f'<TD WIDTH="{MEM_W}" BGCOLOR="{MEM_FILL}" CELLPADDING="5"><B>memory, mm_structs</B></TD>')
    t.append("<TR>" + "".join(cols) + "</TR>")
    # initial state row
    init_cells = {}
    for c, cpu in enumerate(init["cpus"]):
        init_cells[c] = Cell(kind="note", notes=[f"rq->curr = {cpu['curr']} (mm {cpu['active_mm']})"]
                             + ([f"store buffer: {_fmt_map(cpu['store_buffer'])}"] if cpu.get("store_buffer") else []))
    init_cells["mem"] = Cell(kind="note", notes=[", ".join(f"{k} = {v}" for k, v in init["memory"].items())]
                             + [f"mm {m}: membarrier_state {bits(v['membarrier_state'])}, "
                                f"mm_users {v['mm_users']}" for m, v in init["mms"].items()])
    t += _row_html(0, init_cells, ncpus, gut, arrow, label="init")
    for k, cells in enumerate(rows, 1):
        t += _row_html(k, cells, ncpus, gut, arrow)
    # outcome row (also where unhandled IPIs end)
    lines = _violation(trace, prop, config)
    chars = (ncpus * (LANE_W + 21) + MEM_W) // 7
    body = "".join(font(esc(x), 11, BAD) + '<BR ALIGN="LEFT"/>' for line in lines for x in wrap(line, chars))
    if prop in BY_NAME:
        body += "".join(font(esc(x), 9, "#555555") + '<BR ALIGN="LEFT"/>'
                        for x in wrap(f"{prop}: {BY_NAME[prop].doc}", int(chars * 1.2)))
    outcome = (f'<TD COLSPAN="{ncols - 1}" ALIGN="LEFT" BGCOLOR="#fdecea" BORDER="2" COLOR="{BAD}" '
               f'CELLPADDING="6">{font("<B>" + esc("✗ " + prop + " violated") + "</B>", 13, BAD)}'
               f'<BR ALIGN="LEFT"/>{body}</TD>')
    if pending_cells:
        t += _row_html(n + 1, pending_cells, ncpus, gut, arrow, label="end")
    t.append(f'<TR><TD></TD>{outcome}</TR>')
    t.append("</TABLE>")
    return ("digraph swimlane {\n"
            f'  graph [fontname="{FONT}", pad=0.15, margin=0];\n'
            f'  node [shape=plaintext, fontname="{FONT}", fontsize=10, margin=0];\n'
            f"  lanes [label=<{''.join(t)}>];\n}}\n")


GUTTER_PARTS = (9, 3, 9)


def _row_html(k: int, cells: dict, ncpus: int, gut: dict, arrow: dict, label: str | None = None) -> list[str]:
    """Two table rows (top and bottom half) for step ``k``; lane cells span both."""
    top = [f'<TD ROWSPAN="2" VALIGN="TOP" ALIGN="RIGHT" CELLPADDING="4">'
           f'{font(esc(label if label is not None else k), 9, "#777777")}</TD>']
    bottom = []
    for c in range(ncpus + 1):
        key = c if c < ncpus else "mem"
        fill = LANE_FILLS[c % 4] if c < ncpus else MEM_FILL
        top.append(f'<TD ROWSPAN="2" BGCOLOR="{fill}" VALIGN="MIDDLE" CELLPADDING="3">'
                   f'{_cell_html(cells.get(key), c < ncpus)}</TD>')
        if c == ncpus:
            break
        head = {"R": 2, "L": 0}.get(arrow.get((c, k), ""), -1)
        for half, dest in ((0, top), (1, bottom)):
            for part, width in enumerate(GUTTER_PARTS):
                if part == head:
                    if half == 0:
                        glyph = font("▶" if part == 2 else "◀", 8, IPI_COLOR)
                        dest.append(f'<TD ROWSPAN="2" WIDTH="{width}" VALIGN="MIDDLE" CELLPADDING="0" '
                                    f'ALIGN="{"LEFT" if part == 2 else "RIGHT"}">{glyph}</TD>')
                    continue
                what = gut.get((c, k, half, part), set())
                attr = f' BGCOLOR="{IPI_COLOR}"' if "F" in what else \
                    f' SIDES="T" BORDER="2" COLOR="{IPI_COLOR}"' if "T" in what else ""
                dest.append(f'<TD WIDTH="{width}" HEIGHT="10" CELLPADDING="0"{attr}></TD>')
    return ["<TR>" + "".join(top) + "</TR>", "<TR>" + "".join(bottom) + "</TR>"]


def _cell_html(cell: Cell | None, is_cpu: bool) -> str:
    if cell is None:
        return " "
    chars = 44 if is_cpu else 28
    parts: list[str] = []
    if cell.kind == "hw":
        parts = [font(esc(x), 9, HW_COLOR) for x in wrap(cell.title, chars + 4)]
    else:
        if cell.title:
            who = font(esc(cell.who) + "  ", 9, "#555555") if cell.who else ""
            first, *rest = wrap(cell.title, chars - 6)
            parts.append(who + font(f"<B>{esc(first)}</B>", 11))
            parts += [font(f"<B>{esc(x)}</B>", 11) for x in rest if x.strip()]
        for line in cell.lines:
            color = IPI_COLOR if line.startswith("──") else "#222222"
            parts += [font(esc(x), 10, color) for x in wrap(line, chars)]
    for note in cell.notes:
        parts += [font(esc(x), 9, "#4a4a4a") for x in wrap(note, chars + 2)]
    inner = lines_html(parts) if parts else ""
    rows = []
    if inner:
        rows.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT" CELLPADDING="4">{inner}</TD></TR>')
    bar = f'HEIGHT="6" WIDTH="{(LANE_W if is_cpu else MEM_W) - 12}" FIXEDSIZE="TRUE"'
    if cell.barrier == "full":
        rows.append(f'<TR><TD {bar} BGCOLOR="#1a1a1a"></TD></TR>')
        rows.append(f'<TR><TD ALIGN="RIGHT" CELLPADDING="1">{font(esc("▬ " + cell.barrier_label), 8, "#1a1a1a")}</TD></TR>')
    elif cell.barrier == "missing":
        rows.append(f'<TR><TD {bar} BORDER="1" COLOR="{BAD}"></TD></TR>')
        rows.append(f'<TR><TD ALIGN="RIGHT" CELLPADDING="1">{font(esc("▭ " + cell.barrier_label), 8, BAD)}</TD></TR>')
    if not rows:
        return " "
    if cell.kind in ("note", "hw"):
        return '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0">' + "".join(rows) + "</TABLE>"
    fill = {"user": "#fffbe6", "handler": "#fff3e8"}.get(cell.kind, "#ffffff")
    color = BAD if cell.bad else IPI_COLOR if cell.kind == "handler" else "#7a7a7a"
    border = 2 if cell.bad or cell.kind == "handler" else 1
    return (f'<TABLE BORDER="{border}" COLOR="{color}" CELLBORDER="0" CELLSPACING="0" BGCOLOR="{fill}">'
            + "".join(rows) + "</TABLE>")


# --------------------------------------------------------------------------------------------------
# 2. state graphs, projected
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# 4. the verdict matrix
# --------------------------------------------------------------------------------------------------

def short_source(source: str) -> str:
    """``McKenney, membarrier BoF notes 2017: problem 1`` from a preset's source line (details in parentheses
    dropped)."""
    return source.split(" (")[0].strip()


def _camel_lines(name: str) -> list[str]:
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+", name)
    lines, cur = [], ""
    for p in parts:
        if cur and len(cur + p) > 8:
            lines.append(cur)
            cur = p
        else:
            cur += p
    return lines + [cur]


def verdict_matrix_dot(results: dict[str, dict[str, str]], link: Callable[[str, str], str | None],
                       engine: str = "explorer") -> str:
    """Presets by properties as one table; a ✗ cell links (``link(preset, prop)``) to its swimlane."""
    from .verdicts import MARK, SHORT
    cols = [f'<TD ALIGN="LEFT" VALIGN="BOTTOM" CELLPADDING="4"><B>preset</B><BR ALIGN="LEFT"/>'
            f'{font("source", 9, "#555555")}<BR ALIGN="LEFT"/></TD>']
    for c in COLUMNS:
        head = "<BR/>".join(esc(x) for x in _camel_lines(SHORT[c]))
        cols.append(f'<TD VALIGN="BOTTOM" CELLPADDING="3" TOOLTIP="{esc(c)}">{font(head, 9)}</TD>')
    rows = ["<TR>" + "".join(cols) + "</TR>"]
    mismatched = False
    for name, props in results.items():
        p = PRESETS[name]
        source = "".join(font(esc(x), 8, "#555555") + '<BR ALIGN="LEFT"/>' for x in wrap(short_source(p.source), 40))
        href = link(name, "")
        extra = f' HREF="{esc(href)}" TITLE="{esc(p.question)}"' if href else ""
        cells = [f'<TD ALIGN="LEFT" CELLPADDING="3"{extra}><B>{esc(name)}</B><BR ALIGN="LEFT"/>{source}</TD>']
        for c in COLUMNS:
            got = props.get(c, NOT_CHECKED)
            want = p.expected.get(c, NOT_CHECKED)
            mark = MARK[got]
            fill = {HOLDS: "#e3f2e1", VIOLATED: "#f9d9d5", NOT_CHECKED: "#fafafa"}[got]
            text = font(f"<B>{esc(mark)}</B>", 13, {HOLDS: "#2e7d32", VIOLATED: BAD}[got]) if mark else " "
            if got != want:
                mismatched = True
                fill = "#fff3cd"
                text += "<BR/>" + font(esc(f"≠ {MARK[want] or 'blank'}"), 8, "#7a5a00")
            href = link(name, c) if got == VIOLATED else None
            extra = f' HREF="{esc(href)}" TITLE="{esc(name + ": " + c + " counterexample")}"' if href else ""
            cells.append(f'<TD BGCOLOR="{fill}" WIDTH="58" HEIGHT="28"{extra}>{text}</TD>')
        rows.append("<TR>" + "".join(cells) + "</TR>")
    title = (f'<TR><TD COLSPAN="{len(COLUMNS) + 1}" ALIGN="LEFT" CELLPADDING="4" BORDER="0">'
             f'{font("<B>Verdicts</B>", 15)}{font(esc(f"   {engine}, {len(results)} presets"), 11)}'
             f'<BR ALIGN="LEFT"/>'
             + font(esc("✓ holds    ✗ violated: the cell links to its counterexample    blank: the preset's "
                        "workload does not exercise the property"
                        + ("    ≠: differs from the expected verdict" if mismatched else "")), 9, "#444444")
             + '<BR ALIGN="LEFT"/></TD></TR>')
    table = ('<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" COLOR="#cccccc">' + title
             + "".join(rows) + "</TABLE>")
    return ("digraph verdicts {\n"
            f'  graph [fontname="{FONT}", pad=0.15];\n'
            f'  node [shape=plaintext, fontname="{FONT}", fontsize=10, margin=0];\n'
            f"  matrix [label=<{table}>];\n}}\n")


def verdict_markdown(results: dict[str, dict[str, str]], link: Callable[[str, str], str | None]) -> str:
    """The verdict table in Markdown: preset, source, one column per property; ✗ links to its swimlane."""
    from .verdicts import SHORT, cell
    head = ["preset", "source"] + [SHORT[c] for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, props in results.items():
        p = PRESETS[name]
        row = [f"[{name}]({link(name, '')})" if link(name, "") else name, short_source(p.source)]
        for c in COLUMNS:
            text = cell(p.expected.get(c), props.get(c))
            href = link(name, c) if props.get(c) == VIOLATED else None
            row.append(f"[{text}]({href})" if href and text else text)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# running the presets, rendering everything
# --------------------------------------------------------------------------------------------------

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


def swimlane_name(preset_name: str, prop: str) -> str:
    return f"swimlane-{preset_name}-{prop}"


def states_name(preset_name: str, scenario: str) -> str:
    return f"states-{preset_name}-{scenario}"


def lifecycle_name(fork_policy: str, alloc_policy: str) -> str:
    return f"lifecycle-{fork_policy}-{alloc_policy}"


# The diagrams the README shows (also rendered as PNG).
README_PICTURES = ("lifecycle-inherit-gfp_kernel_enomem", "swimlane-ppc-2017-Ordering", "swimlane-mainline-Ordering",
                   "verdicts")


def swimlane_title(preset_name: str, prop: str) -> tuple[str, str]:
    """(title, subtitle) of a preset's swimlane: the preset and property, then where the preset comes from."""
    return f"{preset_name}: {prop} violated", short_source(PRESETS[preset_name].source)


@attrs.frozen
class Diagram:
    """A diagram to render: its file stem, its dot source, and whether a PNG is wanted too."""

    stem: str
    source: str
    png: bool = False


def build_diagrams(runs: dict[str, PresetRun], *, engine: str = "explorer",
                   counterexamples: dict[str, dict[str, list[dict]]] | None = None,
                   verdict_table: dict[str, dict[str, str]] | None = None, matrix: bool = True) -> list[Diagram]:
    """Every diagram's dot source, in a fixed order.

    The verdict matrix links ✗ cells to ``swimlane-*.svg`` beside it.
    ``counterexamples`` / ``verdict_table`` replace the explorer's (the TLC
    engine); the state graphs always come from the explorer.  ``matrix``
    False leaves out the verdict matrix (a run over some presets only).
    """
    cex = counterexamples if counterexamples is not None else \
        {n: r.result.counterexamples for n, r in runs.items()}
    table = verdict_table if verdict_table is not None else {n: r.result.properties for n, r in runs.items()}
    out: list[Diagram] = []
    for fork, alloc in lifecycle_policies():
        stem = lifecycle_name(fork, alloc)
        out.append(Diagram(stem, lifecycle_dot(fork, alloc), stem in README_PICTURES))
    for name in runs:
        config = PRESETS[name].config
        for prop in COLUMNS:
            trace = cex.get(name, {}).get(prop)
            if trace and table.get(name, {}).get(prop) == VIOLATED:
                stem = swimlane_name(name, prop)
                title, subtitle = swimlane_title(name, prop)
                out.append(Diagram(stem, swimlane_dot(trace, prop, title=title, subtitle=subtitle, config=config),
                                   stem in README_PICTURES))
    for name, run in runs.items():
        for proj in run.projections:
            out.append(Diagram(states_name(name, proj.scenario),
                               state_graph_dot(proj, run.result.counterexamples)))
    if matrix:
        out.append(Diagram("verdicts", verdict_matrix_dot(table, _linker("files", table, cex), engine), True))
    return out


def _linker(style: str, table: dict[str, dict[str, str]], drawn: dict[str, dict[str, list]] | None = None
            ) -> Callable[[str, str], str | None]:
    """Where a matrix cell links: its swimlane (a file beside, or an anchor in the report), if drawn.

    ``style``: "files" (``swimlane-*.svg`` beside the table), "anchors" (``#swimlane-*`` and the preset's
    ``#preset-*`` inside the HTML report) or "markdown" (files, and the preset's heading ``#NAME`` in the
    Markdown report).
    """
    def link(name: str, prop: str) -> str | None:
        if not prop:
            return {"anchors": f"#preset-{name}", "markdown": f"#{name}"}.get(style)
        if drawn is not None and not drawn.get(name, {}).get(prop):
            return None
        stem = swimlane_name(name, prop)
        return f"#{stem}" if style == "anchors" else f"{stem}.svg"
    return link


def renderer_fingerprint() -> str:
    """The graphviz build and the fonts it resolves: byte-identical output needs both to match."""
    fonts = []
    fc = shutil.which("fc-match")
    for family in ("Helvetica", "Courier New", "sans-serif"):
        if fc:
            proc = subprocess.run([fc, "-f", "%{file}", family], capture_output=True, text=True)
            fonts.append(os.path.basename(proc.stdout.strip()) or "?")
        else:
            fonts.append("?")
    return f"{dot_version()}; fonts {', '.join(fonts)}"


MANIFEST = "MANIFEST"


def render_diagrams(diagrams: list[Diagram], jobs: int | None = None, svg_only: bool = False
                    ) -> dict[str, bytes]:
    """Render every diagram (SVG, plus PNG where wanted): file name -> bytes."""
    import concurrent.futures as cf
    work = [(d, "svg") for d in diagrams] + ([] if svg_only else [(d, "png") for d in diagrams if d.png])
    with cf.ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as pool:
        outputs = list(pool.map(lambda item: render(item[0].source, item[1]), work))
    return {f"{d.stem}.{fmt}": data for (d, fmt), data in zip(work, outputs)}


@attrs.frozen
class Rendered:
    """Rendered diagrams: the files to write, the hash of each file's source, and the renderer."""

    files: dict[str, bytes]
    sources: dict[str, str]
    renderer: str


def manifest_text(sources: dict[str, str], renderer: str) -> str:
    lines = ["# membarrier-spec diagrams: the sha256 of each file's graphviz source (of the file itself for",
             "# the Markdown), and the renderer that drew them. Regenerate with: membarrier-spec diagrams",
             f"renderer: {renderer}"]
    lines += [f"{h}  {name}" for name, h in sorted(sources.items())]
    return "\n".join(lines) + "\n"


def parse_manifest(text: str) -> tuple[str | None, dict[str, str]]:
    renderer, sources = None, {}
    for line in text.splitlines():
        if line.startswith("renderer: "):
            renderer = line[len("renderer: "):]
        elif line and not line.startswith("#") and "  " in line:
            h, name = line.split("  ", 1)
            sources[name] = h
    return renderer, sources


def writable_dir(path: Path) -> Path:
    """Create ``path`` if needed; a one-line DiagramError when it cannot be written."""
    try:
        return files.writable_dir(path)
    except files.OutputError as exc:
        raise DiagramError(str(exc)) from None


def write_files(out: Path, rendered: dict[str, bytes], prune_prefixes: tuple[str, ...] = ()) -> None:
    """Write ``rendered`` into ``out`` as a set (only what changed), removing stale files with the given
    prefixes; the MANIFEST, which describes the set, is renamed into place last."""
    ordered = {n: d for n, d in rendered.items() if n != MANIFEST}
    if MANIFEST in rendered:
        ordered[MANIFEST] = rendered[MANIFEST]
    stale = [old.name for old in sorted(Path(out).iterdir()) if old.name not in rendered
             and old.name.startswith(prune_prefixes) and old.suffix in (".svg", ".png")] if prune_prefixes else []
    try:
        files.write_set(Path(out), ordered, stale)
    except files.OutputError as exc:
        raise DiagramError(str(exc)) from None


DIAGRAM_PREFIXES = ("lifecycle-", "swimlane-", "states-", "verdicts")


def diagram_files(runs: dict[str, PresetRun], jobs: int | None = None, complete: bool = True) -> Rendered:
    """What ``diagrams/`` holds: SVGs, README PNGs, and (for a run over every preset) the verdict
    matrix, the Markdown verdict table and the MANIFEST."""
    dot_path()
    diagrams = build_diagrams(runs, matrix=complete)
    files = render_diagrams(diagrams, jobs)
    sources = {}
    for d in diagrams:
        for ext in ("svg", "png"):
            if f"{d.stem}.{ext}" in files:
                sources[f"{d.stem}.{ext}"] = digest(d.source)
    renderer = renderer_fingerprint()
    if complete:
        table = {n: r.result.properties for n, r in runs.items()}
        files["verdicts.md"] = verdict_markdown(table, _linker("files", table)).encode("utf-8")
        sources["verdicts.md"] = digest(files["verdicts.md"])
        files[MANIFEST] = manifest_text(sources, renderer).encode("utf-8")
    return Rendered(files, sources, renderer)


def stale_files(directory: Path, fresh: Rendered) -> tuple[list[str], list[str], str | None]:
    """Compare freshly rendered diagrams with a directory (the committed ``diagrams/``).

    Returns (stale, extra, note).  ``stale``: files that are missing, whose
    graphviz source differs from the one the committed MANIFEST records, or
    (when this machine's renderer is the one that drew them) whose bytes
    differ.  ``extra``: diagram files nobody generates any more (full runs
    only).  ``note``: why rendered bytes were not compared, if they were not.
    """
    directory = Path(directory)
    manifest = directory / MANIFEST
    renderer, recorded = parse_manifest(manifest.read_text()) if manifest.exists() else (None, {})
    if not manifest.exists():  # a subset was rendered here (no MANIFEST): only the bytes can be compared
        renderer, recorded = fresh.renderer, dict(fresh.sources)
    same = renderer == fresh.renderer
    stale = []
    for name, data in sorted(fresh.files.items()):
        path = directory / name
        if not path.exists():
            stale.append(name)
        elif name == MANIFEST:
            if same and path.read_bytes() != data:
                stale.append(name)
        elif name in fresh.sources and recorded.get(name) != fresh.sources[name]:
            stale.append(name)
        elif same and path.read_bytes() != data:
            stale.append(name)
    extra = []
    if MANIFEST in fresh.files and directory.is_dir():
        extra = sorted(p.name for p in directory.iterdir()
                       if p.name.startswith(DIAGRAM_PREFIXES) and p.name not in fresh.files)
    note = None if same else (f"rendered bytes not compared: {directory}/{MANIFEST} records the renderer "
                              f"'{renderer or 'unknown'}', this machine has '{fresh.renderer}'; the graphviz "
                              f"sources were compared")
    return stale, extra, note
