"""Named presets: a Config, where it comes from, the question it settles, its expected verdicts.

The expected verdicts are the verdict table (docs/design.md), as data: ``holds`` or
``violated`` per property column; a property a preset's workload does not
exercise is absent (reported as ``not-checked``).
"""

from __future__ import annotations

import attrs

from ..errors import ConfigError
from .config import Config
from .properties import HOLDS, VIOLATED

# The verdict table's columns, in its order.
COLUMNS = ("Ordering", "NoStaleCode", "NoUseAfterFree", "RqStateCovers", "RegistrationReportTruthful",
           "RegistrationAtomic", "NoSpuriousIPI", "NoRqLock", "BoundedByCpus", "NoSchedOverheadUnreg",
           "ExpeditedNeverBlocks")
ALWAYS_CHECKED = ("TypeOK", "StableEinval", "MembarrierReturns")  # every workload exercises these


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
    design: dict[str, str] = attrs.field(factory=dict)  # the design table's cells where the model differs


    @property
    def checked(self) -> tuple[str, ...]:
        return tuple(self.expected)


PRESETS: dict[str, Preset] = {}


def _add(name: str, source: str, question: str, row: str, notes: str = "", design: str = "", **config) -> None:
    """Add a preset; ``design`` is the design table's row where the faithful model's verdicts differ from it."""
    expected = verdicts(row)
    differs = {k: v for k, v in verdicts(design).items() if expected.get(k) != v} if design else {}
    PRESETS[name] = Preset(name, source, question, Config(**config), expected, notes, differs)


MAINLINE_SCENARIOS = ("sb_private", "mp_private", "jit_sync_core", "global_exit", "sb_global_lazy",
                      "sb_global_exit", "sb_kthread")
MAINLINE = dict(scenarios=MAINLINE_SCENARIOS, inject_alloc_failure=True)
POWERPC = dict(switch_mm_mb=False, switch_mm_serializes=False)
SEED_000_BASE = dict(POWERPC, require_registration=False, scenarios=("sb_private", "mp_private"))

LAZY_RETURN = ("the lazy return: membarrier_switch_mm(rq, prev->active_mm, next->mm) returns early when a task "
               "without an mm (the idle task, another kernel thread, or a task that has just run exit_mm()) "
               "hands the CPU back to a thread of its lazy active_mm, so rq->membarrier_state keeps what it was: "
               "nothing, when the process registered while the CPU was in that lazy window, or 0, written by "
               "exit_mm() or kthread_unuse_mm(). GLOBAL_EXPEDITED then skips a CPU that runs a registered "
               "process (sb_global_lazy, sb_global_exit), and RqStateCovers fails for PRIVATE_EXPEDITED too, "
               "although PRIVATE_EXPEDITED finds its targets through rq->curr and keeps Ordering")
MAINLINE_NOTES = ("RegistrationReportTruthful fails twice: REGISTER_PRIVATE_EXPEDITED_SYNC_CORE sets "
                  "PRIVATE_EXPEDITED without its READY bit (the live kernel's GET_REGISTRATIONS 0x50 row), and "
                  "every registration reports itself between its two atomic_or() calls. RegistrationAtomic: "
                  "GFP_KERNEL failure returns -ENOMEM after the non-READY bits were set. ExpeditedNeverBlocks: "
                  "the expedited commands allocate their cpumask with GFP_KERNEL and take membarrier_ipi_mutex "
                  "and cpus_read_lock(), all of which may sleep.")

#        columns: Ord Stale UAF RqSt Report Atomic Spur RqLk Bound Sched Block
_add("mainline", "kernel v6.18 as written (x86), with the lazy GLOBAL_EXPEDITED scenarios",
     "Does the kernel as shipped keep membarrier's promises, and which does it break?",
     "✗ ✓ ✓ ✗ ✗ ✗ ✓ ✓ ✓ ✓ ✗",
     notes=f"Ordering and RqStateCovers fail through {LAZY_RETURN}. " + MAINLINE_NOTES
           + " Confirmed on a live Linux 6.18 kernel (`membarrier-spec probe`).",
     **MAINLINE)
_add("fix-switch-prev-mm", "candidate fix: membarrier_switch_mm(rq, prev->mm, next->mm) on every switch, NULL "
     "giving 0 (Mathieu Desnoyers, LKML 2020, 'sched: membarrier: cover kthread_use_mm', v3)",
     "Does refreshing rq->membarrier_state on every context switch, kernel threads included, close the lazy "
     "return?",
     "✓ ✓ ✓ ✓ ✗ ✗ ✓ ✓ ✓ ✓ ✗",
     notes="Every switch to a kernel thread from a user task writes 0 and every switch back loads the mm's "
           "state again: the cost that v4 of that series avoided by reverting to the lazy-tolerant version. "
           + MAINLINE_NOTES, membarrier_switch_mm="prev_mm_every_switch", **MAINLINE)
_add("fix-no-early-return", "candidate fix: membarrier_switch_mm() without the prev_mm == next_mm early return",
     "Is dropping the early return enough to close the lazy return?",
     "✓ ✓ ✓ ✓ ✗ ✗ ✓ ✓ ✓ ✓ ✗",
     notes="Every switch to a user task loads next->mm->membarrier_state, including the frequent switch "
           "between two threads of one process. " + MAINLINE_NOTES,
     membarrier_switch_mm="no_early_return", **MAINLINE)
_add("fix-user-prev-mm", "candidate fix: on a switch to a user task, membarrier_switch_mm(rq, prev->mm, next->mm) "
     "(this project's proposal)",
     "Does comparing with prev->mm instead of prev->active_mm close the lazy return at the smallest cost?",
     "✓ ✓ ✓ ✓ ✗ ✗ ✓ ✓ ✓ ✓ ✗",
     notes="Only a switch from a task without mm (a kernel thread, or a task after exit_mm()) to a user task "
           "pays an extra load of mm->membarrier_state, the switch that already does mmdrop_lazy_tlb(); "
           "switches between threads of one mm still return early. " + MAINLINE_NOTES,
     membarrier_switch_mm="prev_mm", **MAINLINE)
_add("fix-register-lazy", "candidate fix: the registration's runqueue sync also targets a CPU whose lazy "
     "active_mm is the mm",
     "Is fixing the registration side enough, leaving the scheduler alone?",
     "✗ ✓ ✓ ✗ ✗ ✗ ✓ ✓ ✓ ✓ ✗",
     notes="It closes the registration race of sb_global_lazy, but not the state that exit_mm() (and "
           "kthread_unuse_mm()) leave: they write 0 to rq->membarrier_state and keep the mm as the lazy "
           "active_mm, and the next thread of that mm on the CPU returns early (sb_global_exit). "
           + MAINLINE_NOTES, rq_sync_lazy=True, **MAINLINE)
_add("mainline-ppc", "kernel v6.18, powerpc switch_mm (membarrier_arch_switch_mm)",
     "Is powerpc's conditional barrier in switch_mm enough without x86's implied one?",
     "✓ . ✓ ✗ . . ✓ ✓ ✓ ✓ .",
     notes="RqStateCovers fails through the lazy return inherited from mainline (a registration during the lazy "
           "window of sb_private); the design table expected it to hold, and it does with the fix "
           "membarrier_switch_mm=prev_mm. Ordering holds: powerpc's membarrier_arch_switch_mm() reads the mm's "
           "state, not the runqueue's, and PRIVATE_EXPEDITED targets through rq->curr.",
     design="✓ . ✓ ✓ . . ✓ ✓ ✓ ✓ .",
     scenarios=("sb_private", "mp_private", "global_exit"), post_switch_mb="membarrier_arch_switch_mm",
     **POWERPC)
_add("ppc-2017", "McKenney, membarrier BoF notes 2017: problem 1",
     "Without a barrier after the rq->curr store (powerpc), does lockless expedited membarrier still order?",
     "✗ . . . . . ✓ ✓ ✓ ✓ .", **SEED_000_BASE)
_add("resolution-a-ipi-all", "McKenney, membarrier BoF notes 2017: resolution A (IPI all CPUs)",
     "Does IPIing every CPU restore ordering, and at what cost to unrelated CPUs?",
     "✓ . . . . . ✗ ✓ ✓ ✓ .", targets="all_cpus", **SEED_000_BASE)
_add("resolution-b-lock-rqs", "McKenney, membarrier BoF notes 2017: resolution B (lock all runqueues)",
     "Does reading rq->curr under each runqueue lock restore ordering?",
     "✓ . . . . . ✓ ✗ ✓ ✓ .", targets="locked_rqs", **SEED_000_BASE)
_add("resolution-c-per-thread", "McKenney, membarrier BoF notes 2017: resolution C (interact with every thread)",
     "Does interacting with each thread instead of each CPU restore ordering?",
     "✓ . . . . . ✓ ✓ ✗ ✓ .", targets="threads", **SEED_000_BASE)
_add("resolution-d-keep-mb", "McKenney, membarrier BoF notes 2017: resolution D (keep the smp_mb after rq->curr)",
     "Does keeping the scheduler's barrier restore ordering, and who pays for it?",
     "✓ . . . . . ✓ ✓ ✓ ✗ .", post_switch_mb="always", **SEED_000_BASE)
_add("resolution-e-register", "McKenney, membarrier BoF notes 2017: resolution E (registration, TIF flag on return to user)",
     "Does registration plus a barrier on the registered threads' return to user restore ordering for free?",
     "✓ . . . . . ✓ ✓ ✓ ✓ .",
     **dict(SEED_000_BASE, require_registration=True, post_switch_mb="return_to_user_registered",
            fork_policy="clear"))
_add("rfc-2015", "Desnoyers, sys_membarrier RFC v12 2015: mm_cpumask + rq lock, GFP_NOWAIT fallback",
     "Does the 2015 RFC (rq locks instead of scheduler barriers) order, block, or lock?",
     "✓ . . . . . ✓ ✗ ✓ . ✓",
     notes="mm_cpumask is modelled as the set of all CPUs, each checked under its rq lock: a superset "
           "filtered exactly as the RFC's rq->curr->mm check under the lock.",
     **dict(SEED_000_BASE, targets="locked_rqs", alloc_policy="gfp_nowait_fallback",
            inject_alloc_failure=True, ipi_locks="none"))
_add("racy-state-load", "Deacon, Desnoyers, racy-load thread 2019: read rq->curr->mm->membarrier_state",
     "Can GLOBAL_EXPEDITED read a freed mm_struct when it dereferences rq->curr->mm?",
     ". . ✗ . . . . . . . .", rq_state_load="curr_mm", scenarios=("global_exit",))
# The two 2019 allocation policies inherit mainline's scheduler and locks (see their notes).
SYNC_RQ_NOTES = ("RqStateCovers fails through the lazy return inherited from mainline (a registration during the "
                 "lazy window of sb_private), and ExpeditedNeverBlocks because the expedited commands still take "
                 "membarrier_ipi_mutex and cpus_read_lock(), which may sleep (the 2019 code took cpus_read_lock() "
                 "too): the allocation policy alone does not make them non-blocking. The design table expected "
                 "both to hold; they do with membarrier_switch_mm=prev_mm and ipi_locks=none.")
SYNC_RQ_DESIGN = "✓ . ✓ ✓ . ✓ . . . . ✓"
_add("sync-rq-nowait-fallback", "Deacon, Desnoyers, racy-load thread 2019, v2: GFP_NOWAIT with per-CPU IPI fallback",
     "Does the fallback keep ordering, atomic registration and never-blocking expedited commands?",
     "✓ . ✓ ✗ . ✓ . . . . ✗",
     notes=SYNC_RQ_NOTES, design=SYNC_RQ_DESIGN,
     alloc_policy="gfp_nowait_fallback", inject_alloc_failure=True,
     scenarios=("sb_private", "global_exit"))
_add("sync-rq-ewouldblock", "Deacon, Desnoyers, racy-load thread 2019, suggested: GFP_NOWAIT and -EWOULDBLOCK",
     "Does failing with -EWOULDBLOCK (allocating before touching the state) keep every promise?",
     "✓ . ✓ ✗ . ✓ . . . . ✗",
     notes=SYNC_RQ_NOTES, design=SYNC_RQ_DESIGN,
     alloc_policy="ewouldblock", inject_alloc_failure=True,
     scenarios=("sb_private", "global_exit"))
_add("register-no-rq-sync", "registration without runqueue sync",
     "Is sync_runqueues_membarrier_state() needed at all?",
     "✗ . . ✗ . . . . . . .", rq_sync=False, scenarios=("sb_global",))
_add("sync-core-no-serialize", "Desnoyers, Lutomirski, sync-core RFC 2017: sysret is not core serializing",
     "Without membarrier_mm_sync_core_before_usermode(), can a thread run stale code after SYNC_CORE?",
     ". ✗ . . . . . . . . .", sync_core_before_usermode=False, scenarios=("jit_sync_core",))
_add("sync-core-skip-caller", "SYNC_CORE skips the caller's CPU",
     "Is interrupting the caller's own CPU needed for SYNC_CORE?",
     ". ✗ . . . . . . . . .", sync_core_skip_caller=True, scenarios=("jit_sync_core",))
_add("lazy-mm-implicit-mb", "Lutomirski, lazy-mm thread 2021: mmgrab/mmdrop not full barriers",
     "If mmdrop() stops implying a full barrier, does kthread -> user on the same mm lose ordering?",
     "✗ . . . . . . . . . .", lazy_mm_mb="none", scenarios=("sb_private", "mp_private"))
_add("lazy-mm-explicit-mb", "Lutomirski, lazy-mm thread 2021: explicit post-switch-mm barrier",
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

# The candidate fixes for the lazy-return bug, compared with mainline by the probe, switch-cost and the report.
CANDIDATE_FIXES = ("fix-switch-prev-mm", "fix-no-early-return", "fix-user-prev-mm", "fix-register-lazy")
assert all(name in PRESETS for name in CANDIDATE_FIXES)


def short_source(source: str) -> str:
    """``McKenney, membarrier BoF notes 2017: problem 1`` from a preset's source line (details in parentheses
    dropped), for the verdict tables."""
    return source.split(" (")[0].strip()


def preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a ConfigError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None


def preset_config(name: str) -> Config:
    return preset(name).config
