"""``membarrier-spec probe``: run the probe's scenarios on the live kernel and compare with the model.

For each scenario: the prediction of every preset in ``PROBE_PRESETS``
(:func:`membarrier_spec.syscall.probe.predict`), then up to ``--attempts`` runs on
the kernel until ``--samples`` clean ones are in (:mod:`membarrier_spec.syscall.probe_live`),
compared by :mod:`membarrier_spec.syscall.probe_compare`.

Exit status: 0 when mainline's prediction agrees with every scenario that
could be judged, 1 when a clean sample disagrees or samples are unstable,
2 bad input, 4 the probe cannot run here or no scenario could be judged.
"""

from __future__ import annotations

import json
import os
import sys

from ..errors import MembarrierSpecError
from ..syscall.probe import PROBE_PRESETS, SCENARIOS
from ..syscall.probe_compare import DEFAULT_ATTEMPTS, DEFAULT_COUNT, DEFAULT_SAMPLES, run_probe, table
from ..syscall.probe_live import ProbeUnavailable, unavailable_reason

EXIT_UNAVAILABLE = 4

def register(sub) -> None:
    from .options import positive_int
    p = sub.add_parser("probe", help="run scripted scenarios on the live kernel (pinned threads, IPIs counted in "
                                     "/proc/interrupts) and compare with the model's predictions")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help=f"scenarios to run (default: all: {', '.join(SCENARIOS)})")
    p.add_argument("--count", type=positive_int, default=DEFAULT_COUNT,
                   help=f"membarrier() calls per measure step (default {DEFAULT_COUNT})")
    p.add_argument("--samples", type=positive_int, default=DEFAULT_SAMPLES,
                   help=f"clean samples per scenario (default {DEFAULT_SAMPLES})")
    p.add_argument("--attempts", type=positive_int, default=DEFAULT_ATTEMPTS,
                   help=f"runs per scenario before giving up on disturbed samples (default {DEFAULT_ATTEMPTS})")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_probe)


def cmd_probe(args) -> int:
    unknown = [n for n in args.scenarios if n not in SCENARIOS]
    if unknown:
        raise MembarrierSpecError(f"unknown probe scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if args.samples > args.attempts:
        raise MembarrierSpecError(f"--samples {args.samples} is more than --attempts {args.attempts}")
    names = args.scenarios or list(SCENARIOS)
    reason = unavailable_reason()
    if reason is not None:
        print(f"membarrier-spec probe: skipped: {reason}", file=sys.stderr)
        return EXIT_UNAVAILABLE

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        results = run_probe(names, args.count, args.samples, args.attempts, log)
    except ProbeUnavailable as exc:
        print(f"membarrier-spec probe: skipped: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.json:
        uname = os.uname()
        print(json.dumps({"kernel": f"{uname.sysname} {uname.release} {uname.machine}",
                          "online_cpus": os.sysconf("SC_NPROCESSORS_ONLN"), "count": args.count,
                          "presets": list(PROBE_PRESETS), "scenarios": results}, indent=2))
    else:
        print(table(results, args.count))
    statuses = [r["status"] for r in results]
    if "disagrees" in statuses or "unstable" in statuses:
        return 1
    if all(s == "disturbed" for s in statuses):
        return EXIT_UNAVAILABLE
    return 0
