"""TLC benchmark: every preset at its default size, and mainline's scaling with CPUs.

    python benchmarks/tlc.py                     # print the tables
    python benchmarks/tlc.py --readme            # also rewrite the TLC tables in README.md
    python benchmarks/tlc.py --scaling --max-cpus 4 --cap 900
    python benchmarks/tlc.py --scaling --cpus 4 --scenario global_exit --cap 0   # one row, run to the end

Needs Java and tla2tools.jar (found as `membarrier-spec check --engine tlc` finds them).  Each row is one
TLC run in a temporary directory with `-workers 2` (or --workers):

* presets: a complete search of the generated MC_<preset> checking TypeOK and every invariant the preset
  is expected to keep (a violated invariant would stop the search early); no liveness.
* scaling: mainline's Config with 2, 3, ... CPUs, one scenario per run (the scenarios' state spaces are
  disjoint, so a preset's count is their sum), checking TypeOK only so that no verdict that changes with
  the CPU count stops the search.  A run that reaches --cap seconds is stopped and reported as a lower
  bound with the states still queued.

No row has a symmetry variant: no permutation of CPUs or tasks is a symmetry of the model (Membarrier.tla
says why), and at two CPUs, every preset's default, the caller's pinned CPU leaves no CPU to permute.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from readme import publish  # benchmarks/readme.py

from membarrier_spec import tlc
from membarrier_spec.errors import MembarrierSpecError
from membarrier_spec.model.presets import PRESETS
from membarrier_spec.tlaplus import generator

START, END = "<!-- benchmark:tlc:start -->", "<!-- benchmark:tlc:end -->"
SCALED = "mainline"
VERSIONS: set[str] = set()  # TLC's banner, from every run


def run(name: str, files: dict[str, str], invariants: list[str], args) -> tlc.TlcResult:
    """One TLC run of the model in ``files`` (MC module and .cfg) next to a fresh Membarrier.tla."""
    with tempfile.TemporaryDirectory(prefix="membarrier-bench-") as d:
        out = Path(d)
        (out / f"{generator.BASE_MODULE}.tla").write_text(generator.render_base())
        for fname, text in files.items():
            (out / fname).write_text(text)
        spec = out / next(f for f in files if f.endswith(".tla"))
        last = [0.0]

        def progress(p: tlc.TlcProgress) -> None:
            if p.seconds - last[0] >= 30:
                last[0] = p.seconds
                print(f"  {p.line(name)}", file=sys.stderr, flush=True)

        r = tlc.run_tlc(spec, jar=args.jar, workers=args.workers, heap=args.heap, timeout=args.cap,
                        invariants=invariants, properties=[], name=name, on_progress=progress,
                        progress_interval=10)
        VERSIONS.add(r.tlc_version.split(" of ")[0])
        return r


def count(r: tlc.TlcResult) -> str:
    if r.status == "ok":
        return f"{r.distinct_states:,}"
    if r.status == "timeout":
        return f"> {r.distinct_states:,} (stopped, {r.queue:,} queued)"
    raise MembarrierSpecError(f"{r.preset}: TLC {r.status}: {r.message}")


def row(cells: list[str]) -> str:
    line = f"| {' | '.join(cells)} |"
    print(line, file=sys.stderr, flush=True)
    return line


def preset_table(args) -> str:
    rows = ["| preset | distinct states | states generated | depth | seconds | distinct states/s |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, p in PRESETS.items():
        holding = [n for n in generator.checked_invariants(p) if p.expected.get(n) == "holds"]
        r = run(name, generator.render_preset(name), holding, args)
        rows.append(row([name, count(r), f"{r.generated_states:,}", str(r.depth), f"{r.seconds:.1f}",
                         f"{r.distinct_states / r.seconds:,.0f}"]))
    return "\n".join(rows)


def scaling_table(args) -> str:
    rows = ["| scenario | CPUs | distinct states | states generated | depth | seconds | distinct states/s |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    base = PRESETS[SCALED].config
    totals: dict[int, int | None] = {}
    for cpus in args.cpus or range(2, args.max_cpus + 1):
        totals[cpus] = 0
        for scenario in args.scenario or base.scenarios:
            config = base.evolve(online_cpus=cpus, scenarios=(scenario,))
            r = run(f"{SCALED} {scenario} {cpus} CPUs", generator.render_preset(SCALED, config), ["TypeOK"], args)
            rows.append(row([scenario, str(cpus), count(r), f"{r.generated_states:,}", str(r.depth),
                             f"{r.seconds:.0f}", f"{r.distinct_states / r.seconds:,.0f}"]))
            totals[cpus] = totals[cpus] + r.distinct_states if totals[cpus] is not None and r.status == "ok" \
                else None
    if args.scenario:
        return "\n".join(rows)
    sums = ", ".join(f"{c} CPUs {t:,}" if t is not None else f"{c} CPUs incomplete" for c, t in totals.items())
    return "\n".join(rows) + f"\n\nAll {len(base.scenarios)} scenarios together (the preset's distinct states): {sums}."


def java_version() -> str:
    try:
        out = subprocess.run([tlc.find_java(None), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "Java"
    first = (out.stderr or out.stdout).splitlines()[:1]
    return first[0].replace('"', "") if first else "Java"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", action="store_true", help="rewrite the TLC benchmark section of README.md")
    ap.add_argument("--presets", action="store_true", help="only the per-preset table")
    ap.add_argument("--scaling", action="store_true", help="only the scaling table")
    ap.add_argument("--max-cpus", type=int, default=4, choices=(2, 3, 4), help="largest CPU count to scale to")
    ap.add_argument("--cpus", type=int, action="append", choices=(2, 3, 4),
                    help="scale to this CPU count only (repeatable; default 2..--max-cpus)")
    ap.add_argument("--scenario", action="append", choices=PRESETS[SCALED].config.scenarios,
                    help=f"scale only this scenario of {SCALED} (repeatable; default all)")
    ap.add_argument("--cap", type=float, default=900,
                    help="stop a run after this many seconds (default 900; 0: run to the end)")
    ap.add_argument("--workers", default="2", help="TLC worker threads (default 2)")
    ap.add_argument("--heap", default="8g", help="Java heap (default 8g)")
    ap.add_argument("--jar", help="tla2tools.jar (default: as membarrier-spec check finds it)")
    args = ap.parse_args()
    if args.readme and (args.presets or args.scaling or args.cpus or args.scenario):
        ap.error("--readme rewrites both full tables; run it without --presets/--scaling/--cpus/--scenario")
    if args.cap < 0:
        ap.error("--cap must be 0 (no cap) or a number of seconds")
    args.cap = args.cap or None
    try:
        tlc.find_jar(args.jar)
        parts = []
        if not args.scaling:
            parts.append(f"Every preset at its default size (a complete search checking TypeOK and the invariants "
                         f"the preset keeps):\n\n{preset_table(args)}\n")
        if not args.presets:
            cap = f"runs stopped at {args.cap:.0f} s are lower bounds" if args.cap else "every run to the end"
            parts.append(f"Scaling of {SCALED} with online CPUs (TypeOK only; {cap}):\n\n{scaling_table(args)}")
        machine = (f"{platform.processor() or platform.machine()}, {', '.join(sorted(VERSIONS))}, "
                   f"{java_version()}, -workers {args.workers}, {time.strftime('%Y-%m-%d')}")
        command = " ".join(["python benchmarks/tlc.py", *sys.argv[1:]])
        head = f"{START}\nMeasured with `{command}` ({machine}; wall clock).\n"
        text = "\n".join([head, *parts]) + f"\n{END}"
    except MembarrierSpecError as exc:
        print(f"benchmarks/tlc.py: {exc}", file=sys.stderr)
        return 2
    return publish(START, END, text, write=args.readme)


if __name__ == "__main__":
    sys.exit(main())
