"""Named presets: a Config, where it comes from, the question it settles, its expected verdicts.

The expected verdicts are DESIGN.md's table, as data: ``holds`` or
``violated`` per property column; a property a preset's workload does not
exercise is absent (reported as ``not-checked``).
"""

from __future__ import annotations

import attrs

from .config import Config
from .errors import ConfigError

HOLDS, VIOLATED = "holds", "violated"

# DESIGN.md's columns, in its order.
COLUMNS = ("Ordering", "NoStaleCode", "NoUseAfterFree", "RqStateCovers", "RegistrationReportTruthful",
           "RegistrationAtomic", "NoSpuriousIPI", "NoRqLock", "BoundedByCpus", "NoSchedOverheadUnreg",
           "ExpeditedNeverBlocks")
ALWAYS_CHECKED = ("TypeOK", "StableEinval", "MembarrierReturns")


def verdicts(row: str) -> dict[str, str]:
    """``"✓ . ✗ ..."`` in COLUMNS order (``.`` = not exercised) -> {property: holds|violated}."""
    cells = row.split()
    if len(cells) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} cells, got {len(cells)}: {row!r}")
    out = {name: HOLDS for name in ALWAYS_CHECKED}
    for name, cell in zip(COLUMNS, cells):
        if cell != ".":
            out[name] = {"✓": HOLDS, "✗": VIOLATED}[cell]
    return out


@attrs.frozen
class Preset:
    """A named Config with its source (seed file or kernel scenario), its question and its verdicts."""

    name: str
    source: str
    question: str
    config: Config
    expected: dict[str, str] = attrs.field(factory=dict)
    notes: str = ""

    @property
    def checked(self) -> tuple[str, ...]:
        return tuple(self.expected)


PRESETS: dict[str, Preset] = {}


def _add(name: str, source: str, question: str, row: str, notes: str = "", **config) -> None:
    PRESETS[name] = Preset(name, source, question, Config(**config), verdicts(row), notes)


MAINLINE_SCENARIOS = ("sb_private", "mp_private", "jit_sync_core", "global_exit")
POWERPC = dict(switch_mm_mb=False, switch_mm_serializes=False)
SEED_000_BASE = dict(POWERPC, require_registration=False, scenarios=("sb_private", "mp_private"))

#        columns: Ord Stale UAF RqSt Report Atomic Spur RqLk Bound Sched Block
_add("mainline", "kernel today (x86): kernel/sched/membarrier.c",
     "Does the kernel as shipped keep membarrier's promises, and which does it break?",
     "✓ ✓ ✓ ✓ ✗ ✗ ✓ ✓ ✓ ✓ ✗",
     notes="RegistrationReportTruthful fails twice: REGISTER_PRIVATE_EXPEDITED_SYNC_CORE sets PRIVATE_EXPEDITED "
           "without its READY bit (KERNEL.md's bold rows), and every registration reports itself between its "
           "two atomic_or() calls. RegistrationAtomic: GFP_KERNEL failure returns -ENOMEM after the non-READY "
           "bits were set. ExpeditedNeverBlocks: the expedited commands allocate their cpumask with GFP_KERNEL.",
     scenarios=MAINLINE_SCENARIOS, inject_alloc_failure=True)
_add("mainline-ppc", "kernel today, powerpc switch_mm (membarrier_arch_switch_mm)",
     "Is powerpc's conditional barrier in switch_mm enough without x86's implied one?",
     "✓ . ✓ ✓ . . ✓ ✓ ✓ ✓ .",
     scenarios=("sb_private", "mp_private", "global_exit"), post_switch_mb="membarrier_arch_switch_mm",
     **POWERPC)
_add("ppc-2017", "seed 000, problem 1 (000_c03a5d75683c763f.txt)",
     "Without a barrier after the rq->curr store (powerpc), does lockless expedited membarrier still order?",
     "✗ . . . . . ✓ ✓ ✓ ✓ .", **SEED_000_BASE)
_add("resolution-a-ipi-all", "seed 000, resolution A (IPI all CPUs)",
     "Does IPIing every CPU restore ordering, and at what cost to unrelated CPUs?",
     "✓ . . . . . ✗ ✓ ✓ ✓ .", targets="all_cpus", **SEED_000_BASE)
_add("resolution-b-lock-rqs", "seed 000, resolution B (lock all runqueues)",
     "Does reading rq->curr under each runqueue lock restore ordering?",
     "✓ . . . . . ✓ ✗ ✓ ✓ .", targets="locked_rqs", **SEED_000_BASE)
_add("resolution-c-per-thread", "seed 000, resolution C (interact with every thread)",
     "Does interacting with each thread instead of each CPU restore ordering?",
     "✓ . . . . . ✓ ✓ ✗ ✓ .", targets="threads", **SEED_000_BASE)
_add("resolution-d-keep-mb", "seed 000, resolution D (keep the smp_mb after rq->curr)",
     "Does keeping the scheduler's barrier restore ordering, and who pays for it?",
     "✓ . . . . . ✓ ✓ ✓ ✗ .", post_switch_mb="always", **SEED_000_BASE)
_add("resolution-e-register", "seed 000, resolution E (registration, TIF flag on return to user)",
     "Does registration plus a barrier on the registered threads' return to user restore ordering for free?",
     "✓ . . . . . ✓ ✓ ✓ ✓ .",
     **dict(SEED_000_BASE, require_registration=True, post_switch_mb="return_to_user_registered",
            fork_policy="clear"))
_add("rfc-2015", "seed 002 (002_9a888570b1ced49c.txt): mm_cpumask + rq lock, GFP_NOWAIT fallback",
     "Does the 2015 RFC (rq locks instead of scheduler barriers) order, block, or lock?",
     "✓ . . . . . ✓ ✗ ✓ . ✓",
     notes="mm_cpumask is modelled as the set of all CPUs, each checked under its rq lock: a superset "
           "filtered exactly as the RFC's rq->curr->mm check under the lock.",
     **dict(SEED_000_BASE, targets="locked_rqs", alloc_policy="gfp_nowait_fallback",
            inject_alloc_failure=True))
_add("racy-state-load", "seed 004 (004_64fad7514e67ad87.txt): read rq->curr->mm->membarrier_state",
     "Can GLOBAL_EXPEDITED read a freed mm_struct when it dereferences rq->curr->mm?",
     ". . ✗ . . . . . . . .", rq_state_load="curr_mm", scenarios=("global_exit",))
_add("sync-rq-nowait-fallback", "seed 004 v2: GFP_NOWAIT with per-CPU IPI fallback",
     "Does the fallback keep ordering, atomic registration and never-blocking expedited commands?",
     "✓ . ✓ ✓ . ✓ . . . . ✓", alloc_policy="gfp_nowait_fallback", inject_alloc_failure=True,
     scenarios=("sb_private", "global_exit"))
_add("sync-rq-ewouldblock", "seed 004, suggested: GFP_NOWAIT and -EWOULDBLOCK",
     "Does failing with -EWOULDBLOCK (allocating before touching the state) keep every promise?",
     "✓ . ✓ ✓ . ✓ . . . . ✓", alloc_policy="ewouldblock", inject_alloc_failure=True,
     scenarios=("sb_private", "global_exit"))
_add("register-no-rq-sync", "registration without runqueue sync",
     "Is sync_runqueues_membarrier_state() needed at all?",
     "✗ . . ✗ . . . . . . .", rq_sync=False, scenarios=("sb_global",))
_add("sync-core-no-serialize", "seed 001 (001_bdb55e76c0af8fa5.txt): sysret is not core serializing",
     "Without membarrier_mm_sync_core_before_usermode(), can a thread run stale code after SYNC_CORE?",
     ". ✗ . . . . . . . . .", sync_core_before_usermode=False, scenarios=("jit_sync_core",))
_add("sync-core-skip-caller", "SYNC_CORE skips the caller's CPU",
     "Is interrupting the caller's own CPU needed for SYNC_CORE?",
     ". ✗ . . . . . . . . .", sync_core_skip_caller=True, scenarios=("jit_sync_core",))
_add("lazy-mm-implicit-mb", "seed 003 (003_ca58ba1858246bd6.txt): mmgrab/mmdrop not full barriers",
     "If mmdrop() stops implying a full barrier, does kthread -> user on the same mm lose ordering?",
     "✗ . . . . . . . . . .", lazy_mm_mb="none", scenarios=("sb_private", "mp_private"))
_add("lazy-mm-explicit-mb", "seed 003: explicit post-switch-mm barrier",
     "Does an explicit barrier after the lazy switch restore what mmdrop() gave?",
     "✓ . . . . . . . . . .", lazy_mm_mb="explicit", scenarios=("sb_private", "mp_private"))
_add("exit-mm-no-mb", "kernel/sched/membarrier.c scenario D without exit_mm's smp_mb",
     "Is the smp_mb() in exit_mm() before current->mm = NULL needed?",
     "✗ . . . . . . . . . .", exit_mm_mb=False, scenarios=("mp_exit",))
_add("no-entry-mb", "membarrier without its first smp_mb (kernel scenario A)",
     "Is membarrier's entry barrier needed?",
     "✗ . . . . . . . . . .", entry_mb=False, scenarios=("sb_private",))
_add("no-exit-mb", "membarrier without its last smp_mb (kernel scenario B)",
     "Is membarrier's exit barrier needed?",
     "✗ . . . . . . . . . .", exit_mb=False, scenarios=("mp_private",))


# Beyond DESIGN.md's table: what the model says about the kernel's code as written.
_add("mainline-switch-mm-literal",
     "kernel/sched/sched.h membarrier_switch_mm() as written (returns early when prev_mm == next_mm)",
     "KERNEL.md says every context switch refreshes rq->membarrier_state; the code skips the refresh when "
     "the previous mm equals the next one, which a lazy kernel thread -> same-mm switch is. Does "
     "GLOBAL_EXPEDITED still reach a registered thread that resumes that way?",
     "✗ . . ✗ . . . . . . .",
     notes="A model finding, not a DESIGN.md row: process B registers GLOBAL_EXPEDITED while its thread T1 "
           "is lazily switched out of CPU 1 (rq->curr is the idle task, so sync_runqueues_membarrier_state() "
           "skips CPU 1); T1 then resumes through idle -> T1 on the same mm, membarrier_switch_mm() returns "
           "early and rq->membarrier_state stays without GLOBAL_EXPEDITED, so a GLOBAL_EXPEDITED from "
           "another process skips CPU 1 and the SB outcome becomes reachable. Worth confirming on the kernel.",
     rq_state_refresh="mm_change", scenarios=("sb_global_lazy",))


def preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a ConfigError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None


def preset_config(name: str) -> Config:
    return preset(name).config
