"""``membarrier-spec probe``: run the probe's scenarios on the live kernel and compare with the model.

For each scenario: the prediction of every preset in ``PROBE_PRESETS``
(:func:`membarrier_spec.syscall.probe.predict`), then up to ``--attempts`` runs on
the kernel until ``--samples`` clean ones are in (:mod:`membarrier_spec.syscall.probe_live`).
A scenario is ``agrees`` / ``disagrees`` (with mainline's prediction),
``unstable`` (clean samples that differ from each other), or ``disturbed``
(no clean sample: skipped, with the reason).

Exit status: 0 when mainline's prediction agrees with every scenario that
could be judged, 1 when a clean sample disagrees or samples are unstable,
2 bad input, 4 the probe cannot run here or no scenario could be judged.
"""

from __future__ import annotations

import json
import os
import sys
import time

from ..errors import MembarrierSpecError
from ..syscall.probe import PROBE_PRESETS, SCENARIOS, Prediction, Scenario, describe_return, predict
from ..syscall.probe_live import Observation, ProbeUnavailable, disturbance, observe, run_script, unavailable_reason

EXIT_UNAVAILABLE = 4
DEFAULT_COUNT = 10000


def predicted_class(scenario: Scenario, pred: Prediction, k: int) -> str:
    return "all" if scenario.watch in (pred.ipi_cpus[k] or ()) else "none"


def compare(scenario: Scenario, kernel: Observation, pred: Prediction) -> list[str]:
    """Where the prediction differs from the kernel: one line per step (empty when they agree)."""
    diffs = []
    for k, st in enumerate(scenario.steps):
        if st.op not in ("call", "measure"):
            continue
        if kernel.returns[k] != pred.returns[k]:
            diffs.append(f"'{st}' returned {describe_return(kernel.returns[k])}, the model says "
                         f"{describe_return(pred.returns[k])}")
        if st.op == "measure" and kernel.ipis[k] != predicted_class(scenario, pred, k):
            diffs.append(f"'{st}' interrupted CPU {scenario.watch} on {kernel.ipis[k]} calls, the model says "
                         f"{predicted_class(scenario, pred, k)}")
    return diffs


def probe_scenario(scenario: Scenario, count: int, samples: int, attempts: int, log) -> dict:
    preds = {p: predict(scenario, p) for p in PROBE_PRESETS}
    safe = all(pred.preemption_safe for pred in preds.values())
    clean: list[Observation] = []
    disturbed: list[str] = []
    for attempt in range(1, attempts + 1):
        data = run_script(scenario, count)
        why = disturbance(scenario, data, safe)
        if why:
            disturbed.append(why)
            log(f"  {scenario.name}: sample {attempt} disturbed ({why}); retrying")
            continue
        clean.append(observe(scenario, data, count))
        if len(clean) == samples:
            break
    result = {"scenario": scenario.name, "story": scenario.story,
              "script": [str(st) for st in scenario.steps], "watched_cpu": scenario.watch,
              "kernel_thread_preemption_tolerated": safe, "clean_samples": len(clean),
              "disturbed_samples": len(disturbed), "disturbances": disturbed}
    if not clean:
        result["status"] = "disturbed"
        result["reason"] = (f"every one of {attempts} samples was disturbed; last: {disturbed[-1]}"
                            if disturbed else "no sample ran")
        return result
    kernel = clean[0]
    result["kernel"] = _steps_json(scenario, kernel.returns, kernel.ipis, kernel.counts)
    result["kernel_samples"] = [[c for c in o.counts if c is not None] for o in clean]
    result["predictions"] = {}
    for p, pred in preds.items():
        diffs = compare(scenario, kernel, pred)
        result["predictions"][p] = {
            "agrees": not diffs, "differences": diffs,
            "steps": _steps_json(scenario, pred.returns,
                                 tuple(predicted_class(scenario, pred, k) if st.op == "measure" else None
                                       for k, st in enumerate(scenario.steps)), None)}
    if any(o.returns != kernel.returns or o.ipis != kernel.ipis for o in clean[1:]):
        result["status"] = "unstable"
        result["reason"] = "clean samples differ from each other: " + "; ".join(
            f"{o.ipis} {o.returns}" for o in clean)
    else:
        result["status"] = "agrees" if result["predictions"]["mainline"]["agrees"] else "disagrees"
    return result


def _steps_json(scenario: Scenario, returns, ipis, counts) -> list[dict]:
    out = []
    for k, st in enumerate(scenario.steps):
        row: dict = {"step": str(st)}
        if st.op in ("call", "measure"):
            row["returns"] = returns[k]
        if st.op == "measure":
            row["ipis"] = ipis[k]
            if counts is not None:
                row["cal"] = counts[k]
        out.append(row)
    return out


def table(results: list[dict], count: int) -> str:
    """Markdown: per scenario, the kernel's IPIs to the watched CPU per call, and each preset's prediction."""
    head = "| scenario | kernel: IPIs to CPU 1 | " + " | ".join(PROBE_PRESETS) + " |"
    rows = [head, "|---|---|" + "---|" * len(PROBE_PRESETS)]
    for r in results:
        if "kernel" not in r:
            rows.append(f"| {r['scenario']} | {r['status']}: {r['reason']} |" + " |" * len(PROBE_PRESETS))
            continue
        measured = [s for s in r["kernel"] if "ipis" in s]
        kernel = ", ".join(f"{s['ipis']} ({s['cal']:,} / {count:,})" for s in measured)
        cells = []
        for p in PROBE_PRESETS:
            pred = r["predictions"][p]
            said = ", ".join(s["ipis"] for s in pred["steps"] if "ipis" in s)
            cells.append(f"{said} {'✓' if pred['agrees'] else '✗'}")
        flag = "" if r["status"] in ("agrees", "disagrees") else f" ({r['status']})"
        rows.append(f"| {r['scenario']}{flag} | {kernel} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def register(sub) -> None:
    from .options import positive_int
    p = sub.add_parser("probe", help="run scripted scenarios on the live kernel (pinned threads, IPIs counted in "
                                     "/proc/interrupts) and compare with the model's predictions")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help=f"scenarios to run (default: all: {', '.join(SCENARIOS)})")
    p.add_argument("--count", type=positive_int, default=DEFAULT_COUNT,
                   help=f"membarrier() calls per measure step (default {DEFAULT_COUNT})")
    p.add_argument("--samples", type=positive_int, default=3, help="clean samples per scenario (default 3)")
    p.add_argument("--attempts", type=positive_int, default=10,
                   help="runs per scenario before giving up on disturbed samples (default 10)")
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

    results = []
    start = time.monotonic()
    try:
        for i, name in enumerate(names, 1):
            log(f"[{i}/{len(names)}] {name} ...")
            r = probe_scenario(SCENARIOS[name], args.count, args.samples, args.attempts, log)
            log(f"[{i}/{len(names)}] {name}: {r['status']} ({r['clean_samples']} clean, "
                f"{r['disturbed_samples']} disturbed, {time.monotonic() - start:.0f} s)")
            results.append(r)
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
