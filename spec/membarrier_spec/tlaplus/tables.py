"""What the generator tabulates from the Python model: the kernel knobs as CONSTANTS, ``syscalls.decide`` as a
table per preset (checked against decide itself), and the workloads as TLA+ records."""

from __future__ import annotations

import textwrap
from typing import Any

import attrs

from .. import abi
from ..abi import State
from ..model import config as config_mod
from ..model import properties, syscalls, workloads
from ..model.config import Config
from ..model.interface import Model
from .names import GeneratorError, check_identifier, cmd_tla_name, tla_bits, tla_bool, tla_comment, tla_string

# --- the kernel knobs -------------------------------------------------------------------------------------

# Config fields the TLA+ spec reads as CONSTANTS (set in each .cfg).
KNOBS = ("switch_mm_mb", "switch_mm_serializes", "post_switch_mb", "lazy_mm_mb", "return_to_user_serializes",
         "sync_core_before_usermode", "targets", "entry_mb", "exit_mb", "rq_state_load", "membarrier_switch_mm",
         "ipi_locks", "rq_sync", "rq_sync_lazy", "exit_mm_mb", "inject_alloc_failure", "alloc_policy")
# Config fields that only syscalls.decide reads: they are folded into each model's decision table.
DECIDE_FIELDS = ("nohz_full", "arch_sync_core", "rseq", "require_registration", "sync_core_skip_caller")
# online_cpus is NCPUS; scenarios (and require_registration) shape the workloads; fork() is not part of
# the concurrency layer.
OTHER_FIELDS = ("online_cpus", "scenarios", "fork_policy")


def check_fields_accounted() -> None:
    known = set(KNOBS) | set(DECIDE_FIELDS) | set(OTHER_FIELDS)
    missing = [f for f in config_mod.field_names() if f not in known]
    if missing:
        raise GeneratorError(f"Config field(s) {', '.join(missing)} are not mapped to TLA+ (tables.KNOBS)")


def knob_value(value: Any) -> str:
    if isinstance(value, bool):
        return tla_bool(value)
    if isinstance(value, str):
        return tla_string(value)
    raise GeneratorError(f"knob value {value!r} has no TLA+ form")


def knob_rows() -> list[dict]:
    fields = {a.name: a for a in attrs.fields(Config)}
    rows = []
    for name in KNOBS:
        check_identifier(name, "Config field")
        a = fields[name]
        if isinstance(a.default, bool):
            domain = "BOOLEAN"
        else:
            choices = a.metadata.get("choices") or ()
            if not choices:
                raise GeneratorError(f"Config field {name} has no choices to bound it")
            domain = "{" + ", ".join(tla_string(c) for c in choices) + "}"
        doc = " ".join(a.metadata.get("doc", "").split())
        rows.append({"name": name, "domain": domain, "doc": doc})
    rows = [{"name": "NCPUS", "doc": "num_online_cpus() (Config.online_cpus)"},
            {"name": "Workloads", "doc": "the scenarios explored together: a sequence of workload records"},
            {"name": "Decide(_, _, _)", "doc": "Decide(cmd, mm->membarrier_state, mm_users): syscalls.decide"},
            ] + rows
    width = max(len(r["name"]) for r in rows) + 1
    for i, row in enumerate(rows):
        decl = row["name"] + ("," if i < len(rows) - 1 else "")
        row["decl"] = f"{decl:<{width + 1}}"
        # the whole description, wrapped (never cut): continuation lines are indented under the first
        row["doc_lines"] = textwrap.wrap(row["doc"], 100 - 4 - len(row["decl"]) - 3) or [""]
    return rows


# --- syscalls.decide, tabulated ---------------------------------------------------------------------------

_USERS = tuple(range(0, 5))  # mm_users values the table is checked over (decide only asks == 1)


def decide_key(config: Config) -> Config:
    """``config`` with the fields decide does not read (KNOBS, scenarios) at their defaults.

    Presets that differ only in those share one tabulation; :meth:`_Decision.spot_check` verifies, for every
    preset that reuses a table built from another preset's Config, that decide indeed answers as the shared
    table says.
    """
    defaults = Config()
    return attrs.evolve(config, scenarios=defaults.scenarios, **{k: getattr(defaults, k) for k in KNOBS})


_DECISIONS: dict[tuple[Config, int], "_Decision"] = {}


def _decision(cmd: int, config: Config) -> "_Decision":
    key = (decide_key(config), cmd)
    decision = _DECISIONS.get(key)
    if decision is None:
        decision = _DECISIONS[key] = _Decision(cmd, config)
    else:
        decision.spot_check(config)  # built from another Config with the same key
    return decision


def _plan_tla(plan: syscalls.Plan) -> str:
    if isinstance(plan, syscalls.Return):
        return f"Return({_ret_tla(plan.value)})"
    if isinstance(plan, syscalls.Expedited):
        return (f"Expedited({tla_string(plan.scope)}, {tla_string(plan.ipi)}, {plan.cpu_id}, "
                f"{tla_bool(plan.skip_self)})")
    if isinstance(plan, syscalls.Register):
        return f"Register({tla_bits(plan.set_bits)}, {tla_string(State(plan.ready_bit).name)})"
    if isinstance(plan, syscalls.SynchronizeRcu):
        return "SynchronizeRcu"
    raise GeneratorError(f"plan {plan!r} has no TLA+ form")


def _ret_tla(value: int) -> str:
    if value < 0 and -value in abi.ERRNO_NAMES:
        return "-" + abi.ERRNO_NAMES[-value]
    return str(value)


class _Decision:
    """syscalls.decide for one command as a decision tree over state bits and mm_users == 1."""

    def __init__(self, cmd: int, config: Config):
        self.cmd = cmd
        table = {(st, u): syscalls.decide(cmd, 0, 0, membarrier_state=st, mm_users=u, config=config)
                 for st in range(256) for u in _USERS}
        self.table = table
        self.bits = [b for b in State
                     if any(table[(st, u)] != table[(st ^ int(b), u)] for st in range(256) for u in _USERS)]

    def spot_check(self, config: Config) -> None:
        """decide under ``config`` agrees with this table (on a sample of states and user counts)."""
        for st in (0, 255, *(1 << i for i in range(8)), *(255 ^ (1 << i) for i in range(8))):
            for u in (1, 2):
                if syscalls.decide(self.cmd, 0, 0, membarrier_state=st, mm_users=u, config=config) \
                        != self.table[(st, u)]:
                    raise GeneratorError(f"syscalls.decide reads a Config field that tables.KNOBS lists as not "
                                         f"read by it ({cmd_tla_name(self.cmd)}, state {st}, users {u})")

    def render(self) -> list[str]:
        """TLA+ lines of an expression over `st` and `users` equal to decide on every state and user count."""
        if len(self.bits) > 2:
            # Only GET_REGISTRATIONS reads more: it answers registrations(state), whatever the users.
            if all(plan == syscalls.Return(syscalls.registrations(st)) for (st, _), plan in self.table.items()):
                return ["Return(RegistrationsMask(st))"]
            raise GeneratorError(f"decide({cmd_tla_name(self.cmd)}) depends on {len(self.bits)} state bits "
                                 "in a way the generator cannot tabulate")
        return self._node(list(self.bits), 0)

    def _node(self, rest: list[State], st: int) -> list[str]:
        if not rest:
            return self._leaf(st)
        bit, more = rest[0], rest[1:]
        then = self._node(more, st | int(bit))
        other = self._node(more, st)
        if then == other:
            return then
        return ([f'IF "{bit.name}" \\in st'] + ["THEN " + then[0]] + ["     " + x for x in then[1:]]
                + ["ELSE " + other[0]] + ["     " + x for x in other[1:]])

    def _leaf(self, st: int) -> list[str]:
        plans = {u: self.table[(st, u)] for u in _USERS}
        one = plans[1]
        rest = {p for u, p in plans.items() if u != 1}
        if len(rest) != 1:
            raise GeneratorError(f"decide({cmd_tla_name(self.cmd)}) depends on mm_users beyond == 1")
        (other,) = rest
        if one == other:
            return [_plan_tla(one)]
        return ["IF users = 1", "THEN " + _plan_tla(one), "ELSE " + _plan_tla(other)]


def decide_context(config: Config, workload_cmds: list[int]) -> dict:
    needed = list(properties.STABLE_EINVAL_CMDS)
    extra = [int(c) for c in properties.COMMAND_OF_REGISTRATION.values()] + list(workload_cmds)
    for cmd in extra:
        if cmd not in needed:
            needed.append(cmd)
    names = [cmd_tla_name(c) for c in needed]
    if len(set(names)) != len(names):
        raise GeneratorError(f"two commands share a TLA+ name: {names}")
    width = max(len(tla_string(n)) for n in names)
    lines = []
    for i, (cmd, name) in enumerate(zip(needed, names)):
        body = _decision(cmd, config).render()
        for ncpus in range(2, 5):  # a .cfg may set NCPUS to anything the spec allows (2..4)
            if _decision(cmd, attrs.evolve(config, online_cpus=ncpus)).render() != body:
                raise GeneratorError(f"decide({name}) depends on online_cpus within 2..4; the table cannot "
                                     "follow NCPUS")
        head = f"    {'CASE' if i == 0 else '  []'} cmd = {tla_string(name):<{width}} -> "
        if len(body) == 1:
            lines.append(head + body[0])
            continue
        lines.append(head + "(" + body[0])
        lines += [" " * (len(head) + 1) + x for x in body[1:]]
        lines[-1] += ")"
    knobs = ", ".join(f"{f}={getattr(config, f)}" for f in DECIDE_FIELDS)
    comment = tla_comment(
        f"syscalls.decide(cmd, flags=0, cpu_id=0) on this kernel ({knobs}, online_cpus >= 2), as a function of "
        "the caller's mm->membarrier_state (`st`) and mm_users. Tabulated by `membarrier-spec generate` from "
        "the Python function, which it checks against this table on every state and user count, so that the "
        "rules are written once (in syscalls.py).")
    return {"lines": lines, "comment": comment}


# --- workloads --------------------------------------------------------------------------------------------

def var_ident(var: int) -> str:
    return check_identifier(workloads.VAR_NAMES[var].upper(), "litmus variable")


def _op_tla(op: workloads.Op, mm_index: dict[str, int]) -> str:
    if op.kind == "store":
        return f"Store({var_ident(op.var)}, {op.value})"
    if op.kind == "load":
        return f"Load({var_ident(op.var)}, {op.reg})"
    if op.kind == "membarrier":
        return f"Membarrier({tla_string(cmd_tla_name(op.cmd))}, {op.reg})"
    if op.kind == "kthread_use_mm":
        return f"KthreadUseMm({mm_index[op.mm]})"
    simple = {"smp_mb": "SmpMb", "modify_code": "ModifyCode", "execute_code": "ExecuteCode", "exit": "Exit",
              "kthread_unuse_mm": "KthreadUnuseMm"}
    if op.kind in simple:
        return simple[op.kind]
    raise GeneratorError(f"program operation {op.kind!r} has no TLA+ form")


def workload_context(model: Model) -> tuple[list[dict], list[int]]:
    out = []
    cmds: list[int] = []
    for layout in model.setup.layouts:
        w = layout.workload
        mm_index = {name: i for i, name in enumerate(layout.mm_names)}
        tasks = []
        for spec in w.tasks:
            if spec.cpus not in (workloads.PINNED0, workloads.OTHERS, workloads.ANY, workloads.NOWHERE):
                raise GeneratorError(f"task {spec.name}: cpus {spec.cpus!r} has no TLA+ form")
            for op in spec.steps:
                if op.kind == "membarrier" and op.cmd not in cmds:
                    cmds.append(op.cmd)
            program = "<<" + ", ".join(_op_tla(op, mm_index) for op in spec.steps) + ">>"
            mm = str(mm_index[spec.mm]) if spec.mm is not None else "NoMm"
            start = spec.start_cpu if spec.start_cpu is not None else -1
            source = "; ".join(str(op) for op in spec.program) or "(no program)"
            tasks.append({
                "comment": f"{spec.name} (mm {spec.mm or 'none'}): {source}",
                "lines": [f"Task({tla_string(spec.name)}, {mm},",
                          f"     {program},",
                          f"     {tla_string(spec.cpus)}, {start}, {tla_bool(spec.preemptible)}, {spec.regs})"],
            })
        for task in tasks[:-1]:
            task["lines"][-1] += ","
        forbidden = [f"<<{layout.task_index(name)}, {reg}, {value}>>" for name, reg, value in w.forbidden]
        forbidden_text = " /\\ ".join(f"{name}.r{reg} = {value}" for name, reg, value in w.forbidden)
        out.append({
            "name": tla_string(w.name),
            "story": tla_comment(f"{w.name}: {w.story}. Source: {w.source}." if w.source
                                 else f"{w.name}: {w.story}.", "    "),
            "mms": "<<" + ", ".join(tla_string(m) for m in layout.mm_names) + ">>",
            "tasks": tasks,
            "forbidden": "{" + ", ".join(forbidden) + "}",
            "forbidden_comment": f"forbidden: {forbidden_text}" if forbidden_text else "no forbidden outcome",
        })
    return out, cmds


