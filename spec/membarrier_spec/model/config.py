"""Kernel configuration: the knobs that change what membarrier(2) returns or does.

A :class:`Config` is a frozen attrs value; a preset is a named Config.  Every
field is validated at construction, and a bad value is a :class:`ConfigError`
naming the field and its allowed values.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import ConfigError

FORK_POLICIES = ("inherit", "clear")
ALLOC_POLICIES = ("gfp_kernel_enomem", "gfp_nowait_fallback", "ewouldblock")
POST_SWITCH_MB = ("none", "always", "membarrier_arch_switch_mm", "return_to_user_registered")
LAZY_MM_MB = ("mmdrop", "none", "explicit")
TARGETS = ("rq_curr", "all_cpus", "locked_rqs", "threads")
RQ_STATE_LOADS = ("rq", "curr_mm")
MEMBARRIER_SWITCH_MM = ("active_mm", "no_early_return", "prev_mm", "prev_mm_every_switch")
IPI_LOCKS = ("serialize_ipi", "cpus_read_lock", "none")

MAX_CPUS = 64


def _int_range(lo: int, hi: int):
    def check(inst, attribute, value):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(f"{attribute.name} must be an integer in {lo}..{hi}, got {value!r}")
    return check


def _boolean(inst, attribute, value):
    if not isinstance(value, bool):
        raise ConfigError(f"{attribute.name} must be true or false, got {value!r}")


def _one_of(choices: tuple[str, ...]):
    def check(inst, attribute, value):
        if value not in choices:
            raise ConfigError(f"{attribute.name} must be one of {', '.join(choices)}; got {value!r}")
    return check


def field(default: Any, validator, doc: str, choices: tuple = ()):
    return attrs.field(default=default, validator=validator,
                       metadata={"doc": doc, "choices": choices})


@attrs.frozen
class Config:
    """The kernel knobs that change membarrier's answers (syscall layer)."""

    online_cpus: int = field(2, _int_range(1, MAX_CPUS), "num_online_cpus()")
    nohz_full: bool = field(False, _boolean, "tick_nohz_full_enabled(): GLOBAL is -EINVAL and absent from QUERY")
    arch_sync_core: bool = field(True, _boolean, "CONFIG_ARCH_HAS_MEMBARRIER_SYNC_CORE")
    rseq: bool = field(True, _boolean, "CONFIG_RSEQ")
    fork_policy: str = field("inherit", _one_of(FORK_POLICIES),
                             "fork(): child mm inherits the state bits (mainline) or starts clear (BoF 2017, E)",
                             FORK_POLICIES)
    alloc_policy: str = field("gfp_kernel_enomem", _one_of(ALLOC_POLICIES),
                              "cpumask allocation: GFP_KERNEL and -ENOMEM (mainline), GFP_NOWAIT with per-CPU "
                              "IPI fallback (the 2015 RFC and the 2019 racy-load thread), or GFP_NOWAIT and -EWOULDBLOCK (racy-load thread 2019)",
                              ALLOC_POLICIES)


    # --- concurrency layer: how the scheduler and membarrier are built (mainline x86 defaults) ---
    switch_mm_mb: bool = field(True, _boolean, "switch_mm() to another mm implies a full barrier (x86 CR3 write; "
                               "not powerpc)")
    switch_mm_serializes: bool = field(True, _boolean, "switch_mm() to another mm is core serializing (x86)")
    post_switch_mb: str = field("none", _one_of(POST_SWITCH_MB),
                                "barrier added for membarrier after the rq->curr store: none, always (BoF 2017 D), "
                                "membarrier_arch_switch_mm (powerpc: when the next mm is registered), "
                                "return_to_user_registered (BoF 2017 E: TIF flag on registered threads)",
                                POST_SWITCH_MB)
    lazy_mm_mb: str = field("mmdrop", _one_of(LAZY_MM_MB),
                            "barrier after switching from a lazy kernel thread back to a user task: mmdrop() "
                            "implies it (mainline), none (lazy-mm thread 2021: relaxed mmgrab/mmdrop), explicit "
                            "(lazy-mm thread 2021: smp_mb__after_switch_mm)", LAZY_MM_MB)
    return_to_user_serializes: bool = field(False, _boolean, "return to user after a context switch is core "
                                            "serializing (x86-64 sysret is not)")
    sync_core_before_usermode: bool = field(True, _boolean, "membarrier_mm_sync_core_before_usermode(): core sync "
                                            "before returning to a SYNC_CORE-registered mm (sync-core RFC 2017 fix)")
    sync_core_skip_caller: bool = field(False, _boolean, "PRIVATE_EXPEDITED_SYNC_CORE skips the caller's CPU")
    targets: str = field("rq_curr", _one_of(TARGETS),
                         "how expedited membarrier finds its targets: read rq->curr locklessly (mainline), IPI all "
                         "CPUs (BoF 2017 A), read rq->curr under each rq lock (BoF 2017 B, RFC 2015), interact "
                         "with every thread of the mm (BoF 2017 C)", TARGETS)
    require_registration: bool = field(True, _boolean, "PRIVATE_EXPEDITED needs a prior registration (-EPERM "
                                       "otherwise); false for the 2017 designs of BoF 2017")
    entry_mb: bool = field(True, _boolean, "membarrier's first smp_mb() (kernel scenario A)")
    exit_mb: bool = field(True, _boolean, "membarrier's last smp_mb() (kernel scenario B)")
    rq_state_load: str = field("rq", _one_of(RQ_STATE_LOADS),
                               "GLOBAL_EXPEDITED reads rq->membarrier_state (mainline) or "
                               "rq->curr->mm->membarrier_state (the 2019 racy load)", RQ_STATE_LOADS)
    membarrier_switch_mm: str = field(
        "active_mm", _one_of(MEMBARRIER_SWITCH_MM),
        "how a context switch refreshes rq->membarrier_state: active_mm (v6.18: on a switch to a user task, "
        "membarrier_switch_mm(rq, prev->active_mm, next->mm), which returns early when the two are equal), "
        "no_early_return (the same without that early return), prev_mm (on a switch to a user task, "
        "membarrier_switch_mm(rq, prev->mm, next->mm)), prev_mm_every_switch (on every switch, "
        "membarrier_switch_mm(rq, prev->mm, next->mm) with NULL giving 0: LKML 2020, v3)",
        MEMBARRIER_SWITCH_MM)
    ipi_locks: str = field(
        "serialize_ipi", _one_of(IPI_LOCKS),
        "the sleeping locks around the target loop of expedited commands and of the multi-user runqueue "
        "sync: serialize_ipi (v6.8 and later: SERIALIZE_IPI() takes membarrier_ipi_mutex, then "
        "cpus_read_lock()), cpus_read_lock (v4.14 to v6.7), none (the 2015 RFC)", IPI_LOCKS)
    rq_sync_lazy: bool = field(False, _boolean, "candidate fix: the registration's runqueue sync also targets a "
                               "CPU whose lazy active_mm is the mm, and ipi_sync_rq_state writes there too")
    rq_sync: bool = field(True, _boolean, "registration syncs rq->membarrier_state on the CPUs running the mm")
    exit_mm_mb: bool = field(True, _boolean, "exit_mm() has smp_mb() before current->mm = NULL (kernel scenario D)")
    inject_alloc_failure: bool = field(False, _boolean, "the concurrency layer lets any cpumask allocation fail "
                                       "(a nondeterministic choice)")
    scenarios: tuple = attrs.field(default=("sb_private",), converter=lambda v: _scenario_tuple(v),
                                   metadata={"doc": "workloads explored together (comma-separated)",
                                             "choices": ()})

    def __attrs_post_init__(self):
        from .workloads import SCENARIOS
        for name in self.scenarios:
            if name not in SCENARIOS:
                raise ConfigError(f"scenarios: unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
        if not self.scenarios:
            raise ConfigError("scenarios must name at least one workload")

    def evolve(self, **changes: Any) -> "Config":
        """A copy with ``changes`` applied; an unknown field is a ConfigError listing the known ones."""
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise ConfigError(f"unknown Config field {unknown[0]!r}; known fields: {', '.join(field_names())}")
        return attrs.evolve(self, **changes)

    def with_overrides(self, assignments: list[str]) -> "Config":
        """Apply CLI-style ``field=value`` strings, converting each value to the field's type."""
        return self.evolve(**parse_assignments(assignments))


def _scenario_tuple(value) -> tuple:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    try:
        return tuple(value)
    except TypeError:
        raise ConfigError(f"scenarios must be a list of workload names, got {value!r}") from None


def field_names() -> list[str]:
    return [a.name for a in attrs.fields(Config)]


def parse_value(name: str, text: str) -> Any:
    """Convert ``text`` to the type of Config field ``name`` (bools: true/false/1/0/yes/no)."""
    fields = {a.name: a for a in attrs.fields(Config)}
    if name not in fields:
        raise ConfigError(f"unknown Config field {name!r}; known fields: {', '.join(fields)}")
    kind = type(fields[name].default)
    if kind is bool:
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    if kind is int:
        try:
            return int(text, 0)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {text!r}") from None
    return text  # strings and the comma-separated scenarios tuple (the converter splits it)


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"expected field=value, got {item!r}")
        name, text = item.split("=", 1)
        out[name.strip()] = parse_value(name.strip(), text)
    return out
