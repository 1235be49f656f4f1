"""Readable renderings of states and steps, shared by counterexamples, replay and diagrams."""

from __future__ import annotations

from ..abi import State
from .memory import NONE
from .state import GHOSTS, KState, action_text


def state_bits(value: int) -> str:
    """``PRIVATE_EXPEDITED|PRIVATE_EXPEDITED_READY`` for a membarrier_state value, ``0`` for none."""
    if not value:
        return "0"
    return "|".join(b.name for b in State if value & b)


def describe_state(model, s: KState) -> dict:
    """A JSON-ready dict of a state, with the kernel's names."""
    layout = model.setup.layouts[s.scenario]
    names = model.var_names
    cpus = []
    for c, cpu in enumerate(s.cpus):
        entry = {
            "curr": layout.task_name(cpu.curr),
            "active_mm": layout.mm_name(cpu.active_mm),
            "rq->membarrier_state": state_bits(cpu.rq_state),
            "store_buffer": {names[v]: _val(model, layout, v, x) for v, x in enumerate(cpu.sbuf) if x != NONE},
            "view": {names[v]: _val(model, layout, v, x) for v, x in enumerate(cpu.view) if x != s.mem[v]},
        }
        if cpu.sw is not None:
            entry["switch"] = {"prev": layout.task_name(cpu.sw.prev), "next": layout.task_name(cpu.sw.next),
                               "step": cpu.sw.step}
        if cpu.ipis:
            entry["pending_ipis"] = [f"{h}({layout.task_name(caller)})" for h, caller, _ in cpu.ipis]
        if cpu.stale:
            entry["instruction_stream"] = "stale"
        cpus.append(entry)
    tasks = {}
    for t, task in enumerate(s.tasks):
        spec = layout.specs[t]
        if spec.mm is None and not spec.steps:
            continue  # an idle task
        program = spec.steps
        entry = {"mm": layout.mm_name(task.mm), "pc": task.pc,
                 "next": str(program[task.pc]) if task.pc < len(program) else "done",
                 "regs": {f"r{i}": v for i, v in enumerate(task.regs)}}
        if task.call is not None:
            entry["in_membarrier"] = task.call.step
            if task.call.locked:
                entry["holds"] = "membarrier_ipi_mutex"
        if task.dead:
            entry["dead"] = True
        if task.tif:
            entry["TIF_MEMBARRIER"] = True
        tasks[spec.name] = entry
    mms = {layout.mm_name(m): {"membarrier_state": state_bits(mm.state), "mm_users": mm.users,
                               "lazy_refs": mm.lazy, **({"freed": True} if mm.freed else {})}
           for m, mm in enumerate(s.mms)}
    return {
        "scenario": layout.workload.name,
        "memory": {names[v]: _val(model, layout, v, x) for v, x in enumerate(s.mem)},
        "cpus": cpus,
        "tasks": tasks,
        "mms": mms,
        "ghost": [g for i, g in enumerate(GHOSTS) if s.ghost & (1 << i)],
    }


def _val(model, layout, var: int, value: int):
    if var >= 2:  # rq->curr variables hold task ids
        return layout.task_name(value)
    return value


def trace_lines(trace: list[dict]) -> list[str]:
    """A counterexample as text: one ``N. action(arg=value, ...)`` line per step, N right-aligned in 3 columns."""
    out = []
    for i, st in enumerate(trace):
        args = ", ".join(f"{k}={v}" for k, v in st["args"].items())
        out.append(f"{i:3}. {action_text(st['action'])}({args})")
    return out
