"""The live probe's table, for the README and docs/findings.md.

    python benchmarks/probe.py            # run `membarrier-spec probe` and print the table
    python benchmarks/probe.py --readme   # also put it in README.md and docs/findings.md

Run it on a quiet machine (nothing else busy on CPU 1): disturbed samples are
retried, and a scenario that stays disturbed shows as such in the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from readme import README, publish  # benchmarks/readme.py

from membarrier_spec.syscall.probe import SCENARIOS
from membarrier_spec.syscall.probe_compare import DEFAULT_COUNT, run_probe, table
from membarrier_spec.syscall.probe_live import ProbeUnavailable, unavailable_reason

START, END = "<!-- probe:start -->", "<!-- probe:end -->"
FINDINGS = README.parent / "docs" / "findings.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="rewrite the table in README.md and docs/findings.md")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"probe unavailable: {reason}", file=sys.stderr)
        return 4
    try:
        results = run_probe(list(SCENARIOS), log=lambda line: print(line, file=sys.stderr, flush=True))
    except ProbeUnavailable as exc:
        print(f"probe unavailable: {exc}", file=sys.stderr)
        return 4
    text = "\n".join([START, table(results, DEFAULT_COUNT), END])
    return publish(START, END, text, write=args.readme, paths=(README, Path(FINDINGS)))


if __name__ == "__main__":
    sys.exit(main())
