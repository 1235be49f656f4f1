"""Model states as TLA+ values and back: a :class:`~membarrier_spec.model.state.KState` is exactly the values of
the spec's variables (:data:`VARIABLES`), so TLC's states decode into the explorer's, one for one."""

from __future__ import annotations

from typing import Any, Iterable

from ..abi import State
from ..model import syscalls
from ..model.state import GHOSTS, Call, Cpu, KState, Mm, Switch, Task
from ..tlc.values import format_tla_value
from .names import GeneratorError, bits_names, cmd_from_tla, cmd_tla_name

VARIABLES = ("scenario", "curr", "active_mm", "rq_state", "sbuf", "view", "sw", "ipis", "stale",
             "mm", "pc", "regs", "call", "dead", "tif", "mm_state", "mm_users", "mm_lazy", "mm_freed",
             "mem", "ghost")


def _fn(values: list) -> Any:
    """A TLA+ function over 0..n-1 as TLC prints it (parsed): a dict, or () when empty."""
    return {i: v for i, v in enumerate(values)} if values else ()


def _bits_set(value: int) -> frozenset:
    return frozenset(bits_names(value))


def _plan_value(plan: syscalls.Plan) -> dict:
    if isinstance(plan, syscalls.Expedited):
        return {"kind": "expedited", "scope": plan.scope, "ipi": plan.ipi, "cpu_id": plan.cpu_id,
                "skip_self": plan.skip_self}
    if isinstance(plan, syscalls.Register):
        return {"kind": "register", "set_bits": _bits_set(plan.set_bits),
                "ready_bit": State(plan.ready_bit).name}
    if isinstance(plan, syscalls.SynchronizeRcu):
        return {"kind": "synchronize_rcu"}
    raise GeneratorError(f"plan {plan!r} is never stored in a call")


def _mask_set(mask: int) -> frozenset:
    return frozenset(i for i in range(mask.bit_length()) if mask >> i & 1)


def state_values(s: KState) -> dict[str, Any]:
    """The TLA+ value of each variable in state ``s``, as Python values (see the module docstring)."""
    def sw(x: Switch | None):
        if x is None:
            return {"step": "none"}
        return {"prev": x.prev, "next": x.next, "step": x.step, "prev_mm": x.prev_mm}

    def call(x: Call | None):
        if x is None:
            return {"step": "none"}
        return {"cmd": cmd_tla_name(x.cmd), "plan": _plan_value(x.plan), "step": x.step, "reg": x.reg,
                "cursor": x.cursor, "mask": _mask_set(x.mask), "seen": _mask_set(x.seen), "mm_ptr": x.mm_ptr,
                "saved": _bits_set(x.saved), "locked": x.locked}

    for cpu in s.cpus:
        if len(set(cpu.ipis)) != len(cpu.ipis):
            raise GeneratorError("a CPU holds two identical pending IPIs; TLA+ keeps them as a set")
    return {
        "scenario": s.scenario,
        "curr": _fn([c.curr for c in s.cpus]),
        "active_mm": _fn([c.active_mm for c in s.cpus]),
        "rq_state": _fn([_bits_set(c.rq_state) for c in s.cpus]),
        "sbuf": _fn([_fn(list(c.sbuf)) for c in s.cpus]),
        "view": _fn([_fn(list(c.view)) for c in s.cpus]),
        "sw": _fn([sw(c.sw) for c in s.cpus]),
        "ipis": _fn([frozenset(c.ipis) for c in s.cpus]),
        "stale": _fn([c.stale for c in s.cpus]),
        "mm": _fn([t.mm for t in s.tasks]),
        "pc": _fn([t.pc for t in s.tasks]),
        "regs": _fn([_fn(list(t.regs)) for t in s.tasks]),
        "call": _fn([call(t.call) for t in s.tasks]),
        "dead": _fn([t.dead for t in s.tasks]),
        "tif": _fn([t.tif for t in s.tasks]),
        "mm_state": _fn([_bits_set(m.state) for m in s.mms]),
        "mm_users": _fn([m.users for m in s.mms]),
        "mm_lazy": _fn([m.lazy for m in s.mms]),
        "mm_freed": _fn([m.freed for m in s.mms]),
        "mem": _fn(list(s.mem)),
        "ghost": frozenset(g for i, g in enumerate(GHOSTS) if s.ghost >> i & 1),
    }


def encode_state(s: KState) -> str:
    """State ``s`` as TLC prints one: a conjunction ``/\\ var = value``, one line per variable."""
    values = state_values(s)
    return "\n".join(f"/\\ {name} = {format_tla_value(values[name])}" for name in VARIABLES)


def _seq(value: Any) -> list:
    """A parsed TLA+ function over 0..n-1 (dict), or a sequence/empty function (tuple), as a list."""
    if isinstance(value, dict):
        keys = sorted(value)
        if keys != list(range(len(keys))):
            raise GeneratorError(f"expected a function over 0..n-1, got domain {keys}")
        return [value[k] for k in keys]
    if isinstance(value, (tuple, list)):
        return list(value)
    raise GeneratorError(f"expected a function or a sequence, got {value!r}")


def _bits_int(names: Iterable[str]) -> int:
    value = 0
    for n in names:
        value |= int(State[n])
    return value


def _plan_from(value: dict) -> syscalls.Plan:
    kind = value["kind"]
    if kind == "expedited":
        return syscalls.Expedited(value["scope"], value["ipi"], cpu_id=value["cpu_id"],
                                  skip_self=value["skip_self"])
    if kind == "register":
        return syscalls.Register(State(_bits_int(value["set_bits"])), State[value["ready_bit"]])
    if kind == "synchronize_rcu":
        return syscalls.SynchronizeRcu()
    raise GeneratorError(f"unknown plan kind {kind!r}")


def _mask_int(cpus: Iterable[int]) -> int:
    mask = 0
    for c in cpus:
        mask |= 1 << c
    return mask


def decode_state(values: dict[str, Any]) -> KState:
    """The KState whose TLA+ variables have ``values`` (TLC's output, parsed)."""
    missing = [v for v in VARIABLES if v not in values]
    if missing:
        raise GeneratorError(f"state lacks variable(s) {', '.join(missing)}")

    def sw(x):
        if x.get("step") == "none" and len(x) == 1:
            return None
        return Switch(prev=x["prev"], next=x["next"], step=x["step"], prev_mm=x["prev_mm"])

    def call(x):
        if x.get("step") == "none" and len(x) == 1:
            return None
        return Call(cmd=cmd_from_tla(x["cmd"]), plan=_plan_from(x["plan"]), step=x["step"], reg=x["reg"],
                    cursor=x["cursor"], mask=_mask_int(x["mask"]), seen=_mask_int(x["seen"]),
                    mm_ptr=x["mm_ptr"], saved=_bits_int(x["saved"]), locked=x["locked"])

    cols = {name: _seq(values[name]) for name in VARIABLES if name not in ("scenario", "ghost")}
    cpus = tuple(
        Cpu(curr=cols["curr"][c], active_mm=cols["active_mm"][c], rq_state=_bits_int(cols["rq_state"][c]),
            sbuf=tuple(_seq(cols["sbuf"][c])), view=tuple(_seq(cols["view"][c])), sw=sw(cols["sw"][c]),
            ipis=tuple(sorted(tuple(i) for i in cols["ipis"][c])), stale=cols["stale"][c])
        for c in range(len(cols["curr"])))
    tasks = tuple(
        Task(mm=cols["mm"][t], pc=cols["pc"][t], regs=tuple(_seq(cols["regs"][t])), call=call(cols["call"][t]),
             dead=cols["dead"][t], tif=cols["tif"][t])
        for t in range(len(cols["mm"])))
    mms = tuple(Mm(state=_bits_int(cols["mm_state"][m]), users=cols["mm_users"][m], lazy=cols["mm_lazy"][m],
                   freed=cols["mm_freed"][m])
                for m in range(len(cols["mm_state"])))
    ghost = 0
    for g in values["ghost"]:
        ghost |= 1 << GHOSTS.index(g)
    return KState(scenario=values["scenario"], cpus=cpus, tasks=tasks, mms=mms, mem=tuple(cols["mem"]),
                  ghost=ghost)
