"""Explorer benchmark: every preset at its default size, and mainline's scaling with CPUs.

    python benchmarks/explorer.py            # print the tables
    python benchmarks/explorer.py --readme   # also rewrite the tables in README.md

Numbers are wall-clock seconds on one core of whatever machine runs it; the
README records the machine's description next to them.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

from readme import publish  # benchmarks/readme.py

from membarrier_spec.check.explore import explore
from membarrier_spec.model.presets import PRESETS

CAP = 300_000  # the scaling table stops a run here and says so
START, END = "<!-- benchmark:explorer:start -->", "<!-- benchmark:explorer:end -->"


def preset_table() -> str:
    rows = ["| preset | scenarios | distinct states | transitions | depth | seconds | states/s |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for name, p in PRESETS.items():
        r = explore(p.config, name, checked=p.checked)
        rows.append(f"| {name} | {', '.join(p.config.scenarios)} | {r.distinct_states:,} | {r.transitions:,} | "
                    f"{r.depth} | {r.seconds:.1f} | {r.distinct_states / r.seconds:,.0f} |")
        print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows)


def scaling_table(max_cpus: int) -> str:
    rows = ["| scenario | CPUs | distinct states | transitions | seconds | states/s |", "|---|---:|---:|---:|---:|---:|"]
    base = PRESETS["mainline"].config
    for scenario in ("global_exit", "sb_global", "jit_sync_core"):
        for cpus in range(2, max_cpus + 1):
            r = explore(base.evolve(online_cpus=cpus, scenarios=(scenario,)), "mainline", max_states=CAP)
            states = f"{r.distinct_states:,}" if r.complete else f"> {CAP:,} (stopped)"
            rows.append(f"| mainline {scenario} | {cpus} | {states} | {r.transitions:,} | "
                        f"{r.seconds:.1f} | {r.distinct_states / r.seconds:,.0f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", action="store_true", help="rewrite the benchmark section of README.md")
    ap.add_argument("--max-cpus", type=int, default=4, help="largest CPU count for the scaling table")
    args = ap.parse_args()
    machine = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, " \
              f"{time.strftime('%Y-%m-%d')}"
    text = (f"{START}\nMeasured with `python benchmarks/explorer.py --readme` ({machine}; one core, wall clock).\n\n"
            f"{preset_table()}\n\nScaling of mainline with online CPUs:\n\n{scaling_table(args.max_cpus)}\n{END}")
    return publish(START, END, text, write=args.readme)


if __name__ == "__main__":
    sys.exit(main())
