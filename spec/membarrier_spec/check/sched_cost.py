"""What a variant of membarrier_switch_mm() costs the scheduler, counted over the state graph.

Every step that runs ``membarrier_switch_mm()`` (or, in v6.18, the switch that
does not call it) records the kind of switch and what the function did
(:data:`membarrier_spec.model.scheduler.SKIP`, ``LOAD``, ``STORE``): returned early
without touching ``mm->membarrier_state``, loaded it and found
``rq->membarrier_state`` equal, or stored it.  Over every transition of a
preset's reachable graph, this module counts, per kind of switch, how many
switches there are and how many load or store.  The graphs of two variants
differ, so compare the *shares* of a kind that load or store, not the raw counts.

A load of ``mm->membarrier_state`` touches a cache line of the next mm (usually
hot after ``switch_mm``); a store dirties the runqueue's line.  The counts say
which switches pay; they are not a timing.
"""

from __future__ import annotations

from collections import Counter

import attrs

from ..model.interface import Model
from ..model.presets import CANDIDATE_FIXES, preset
from ..model.scheduler import LOAD, SKIP, STORE
from .explore import Explorer

KINDS = ("user -> user, same mm", "user -> user, other mm", "kthread -> user, lazy mm", "kthread -> user, other mm",
         "user -> kthread", "kthread -> kthread")
DEFAULT_PRESETS = ("mainline", *CANDIDATE_FIXES)


@attrs.frozen
class KindCost:
    switches: int
    loads: int   # loads of mm->membarrier_state (a STORE includes its load)
    stores: int  # stores to rq->membarrier_state

    def to_json(self) -> dict:
        return attrs.asdict(self)


def switch_costs(name: str) -> dict[str, KindCost]:
    """Per kind of switch, over every transition of ``name``'s graph: switches, loads, stores."""
    counts: Counter = Counter()

    def observe(st) -> None:
        d = dict(st.args)
        if "switch" not in d:
            return
        what = d["membarrier_state"]
        counts[d["switch"], SKIP] += 1
        if what in (LOAD, STORE):
            counts[d["switch"], LOAD] += 1
        if what == STORE:
            counts[d["switch"], STORE] += 1

    Explorer(Model(preset(name).config), check_liveness=False, observe=observe).run(name, checked=())
    return {kind: KindCost(counts[kind, SKIP], counts[kind, LOAD], counts[kind, STORE]) for kind in KINDS}


def _share(part: int, whole: int) -> str:
    return "-" if not whole else f"{100 * part / whole:.0f}%"


def markdown(costs: dict[str, dict[str, KindCost]]) -> str:
    """One row per kind of switch; per preset, the share of those switches that load and that store."""
    names = list(costs)
    head = "| switch | " + " | ".join(f"{n}: load / store" for n in names) + " |"
    rows = [head, "|---|" + "---:|" * len(names)]
    for kind in KINDS:
        cells = [f"{_share(c.loads, c.switches)} / {_share(c.stores, c.switches)}"
                 for c in (costs[n][kind] for n in names)]
        rows.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
