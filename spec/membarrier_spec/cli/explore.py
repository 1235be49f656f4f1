"""``membarrier-spec explore`` and ``membarrier-spec verify``: the explorer on the command line."""

from __future__ import annotations

import json

from ..check import verdicts
from ..check.explore import explore, stderr_progress
from ..model.presets import PRESETS, preset
from ..model.properties import NOT_CHECKED
from ..model.render import trace_lines
from .options import add_store_options, positive_int


def register(sub) -> None:
    p = sub.add_parser("explore", help="explore a preset's reachable states and check its properties")
    p.add_argument("preset", help="preset name (see `membarrier-spec presets`)")
    p.add_argument("overrides", nargs="*", metavar="field=value",
                   help="override Config fields, e.g. online_cpus=3 scenarios=sb_private,mp_private")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--max-states", type=positive_int, default=None, metavar="N",
                   help="stop after N distinct states (verdicts of unviolated properties become not-checked)")
    p.add_argument("--all", action="store_true",
                   help="report every property, not only those the preset's workload exercises")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_explore)

    p = sub.add_parser("verify", help="explore every preset and compare the verdicts with the expected table (presets.py)")
    p.add_argument("presets", nargs="*", metavar="PRESET", help="only these presets (default: all)")
    p.add_argument("--json", action="store_true", help="print every result as JSON")
    p.add_argument("--markdown", action="store_true", help="print the verdict table as Markdown")
    add_store_options(p, "explore presets")
    p.set_defaults(func=cmd_verify)


def cmd_explore(args) -> int:
    p = preset(args.preset)
    config = p.config.with_overrides(args.overrides)
    return run_and_print(p, config, as_json=args.json, quiet=args.quiet, max_states=args.max_states,
                         checked=None if args.all else p.checked)


def run_and_print(p, config, *, as_json: bool, quiet: bool, max_states: int | None = None, checked=None) -> int:
    """Explore ``config`` for preset ``p``, print the result (text or JSON); exit 1 on a violation, else 0."""
    result = explore(config, p.name, max_states=max_states, progress=None if quiet else stderr_progress,
                     checked=checked)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(summary(result, p))
    return 1 if not result.ok else 0


def summary(result, p) -> str:
    lines = [f"{result.preset}: {result.distinct_states:,} distinct states, {result.transitions:,} transitions, "
             f"depth {result.depth}, {result.seconds:.1f}s ({', '.join(result.scenarios)})"]
    if not result.complete:
        lines.append("  stopped at --max-states: the state graph was not explored completely")
    for name, verdict in result.properties.items():
        if verdict == NOT_CHECKED:
            continue
        expected = p.expected.get(name)
        note = "" if expected in (None, verdict) else f"   (expected: {expected})"
        lines.append(f"  {name:<28} {verdict}{note}")
    for name, trace in result.counterexamples.items():
        scenario = trace[-1]["state"]["scenario"]
        lines.append(f"\ncounterexample for {name} ({len(trace) - 1} steps, scenario {scenario}):")
        lines += ["  " + line for line in trace_lines(trace)]
        others = {sc: t for sc, t in result.scenario_counterexamples.get(name, {}).items() if sc != scenario}
        if others:
            lines.append("  also violated in: " + ", ".join(f"{sc} ({len(t) - 1} steps)" for sc, t in others.items())
                         + " (--json gives each trace)")
    return "\n".join(lines)


def cmd_verify(args) -> int:
    names = args.presets or list(PRESETS)
    for name in names:
        preset(name)  # unknown names fail before any work
    progress = None if args.quiet else stderr_progress
    from ..check.results import ResultStore, explore_presets
    runs = explore_presets(names, args.jobs, progress, store=ResultStore(), fresh=args.fresh)
    results = {name: run.result for name, run in runs.items()}
    bad = {n: verdicts.mismatches(n, r.properties) for n, r in results.items()}
    bad = {n: m for n, m in bad.items() if m}
    if args.json:
        print(json.dumps({"presets": {n: r.to_json() for n, r in results.items()},
                          "mismatches": bad}, indent=2))
    else:
        table = verdicts.markdown if args.markdown else verdicts.text
        print(table({n: r.properties for n, r in results.items()}))
        total = sum(r.distinct_states for r in results.values())
        secs = sum(r.seconds for r in results.values())
        print(f"\n{len(results)} presets, {total:,} distinct states in {secs:.1f}s; "
              f"{len(bad)} preset(s) disagree with the expected verdicts" + (": " + ", ".join(bad) if bad else ""))
    return 0 if not bad else 1
