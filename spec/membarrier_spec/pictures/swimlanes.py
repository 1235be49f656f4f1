"""A counterexample as a swimlane: one lane per CPU and one for memory, full barriers as bars, IPIs
as arrows.  It takes exactly the trace the explorer reports, so a replayed TLC trace draws the same."""

from __future__ import annotations

import attrs

from .. import abi
from ..model import syscalls
from ..model.config import Config
from ..model.properties import BY_NAME, COMMAND_OF_REGISTRATION
from ..model.state import ACTION_TEXT
from ..model.workloads import SCENARIOS
from .graphviz import FONT, MONO, DiagramError, bits, esc, font, lines_html, wrap

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
        if action == "ipi_sync_rq_state" and not get("synced"):
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


def pair_ipis(trace: list[dict]) -> list[Ipi]:
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
                command = COMMAND_OF_REGISTRATION[register]
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
    ipis = pair_ipis(trace)
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
