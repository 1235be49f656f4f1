"""The probe's verdicts: the kernel's clean samples of each scenario compared with every candidate preset's
prediction, one result per scenario, and the table the README and the findings show.

A scenario is ``agrees`` / ``disagrees`` (with mainline's prediction), ``unstable`` (clean samples that
differ from each other), or ``disturbed`` (no clean sample: skipped, with the reason).
"""

from __future__ import annotations

import time
from typing import Callable

from .probe import PROBE_PRESETS, SCENARIOS, Prediction, Scenario, describe_return, predict
from .probe_live import Observation, disturbance, observe, run_script

DEFAULT_COUNT = 10000  # membarrier() calls per measure step
DEFAULT_SAMPLES = 3    # clean samples per scenario
DEFAULT_ATTEMPTS = 10  # runs per scenario before giving up on disturbed samples


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


def run_probe(names: list[str], count: int = DEFAULT_COUNT, samples: int = DEFAULT_SAMPLES,
              attempts: int = DEFAULT_ATTEMPTS, log: Callable[[str], None] = lambda line: None) -> list[dict]:
    """:func:`probe_scenario` for each named scenario, with progress lines; :class:`ProbeUnavailable` when the
    probe cannot run here."""
    results = []
    start = time.monotonic()
    for i, name in enumerate(names, 1):
        log(f"[{i}/{len(names)}] {name} ...")
        r = probe_scenario(SCENARIOS[name], count, samples, attempts, log)
        log(f"[{i}/{len(names)}] {name}: {r['status']} ({r['clean_samples']} clean, "
            f"{r['disturbed_samples']} disturbed, {time.monotonic() - start:.0f} s)")
        results.append(r)
    return results
