"""``membarrier-spec switch-cost``: what each variant of membarrier_switch_mm() costs the scheduler."""

from __future__ import annotations

import json
import sys

from ..check.sched_cost import DEFAULT_PRESETS, markdown, switch_costs
from ..model.presets import preset


def register(sub) -> None:
    p = sub.add_parser("switch-cost", help="what each variant of membarrier_switch_mm() costs the scheduler, "
                                           "counted over the presets' state graphs")
    p.add_argument("presets", nargs="*", metavar="PRESET",
                   help=f"presets to compare (default: {', '.join(DEFAULT_PRESETS)})")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(func=cmd_switch_cost)


def cmd_switch_cost(args) -> int:
    names = args.presets or list(DEFAULT_PRESETS)
    for name in names:
        preset(name)  # unknown names fail before any work
    costs = {}
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] exploring {name} ...", file=sys.stderr, flush=True)
        costs[name] = switch_costs(name)
    if args.json:
        print(json.dumps({n: {k: c.to_json() for k, c in kinds.items()} for n, kinds in costs.items()}, indent=2))
    else:
        print(markdown(costs))
    return 0
