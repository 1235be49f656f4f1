#!/usr/bin/env bash
# Set up, then run the test suite; extra arguments go to pytest (e.g. -q, -k NAME, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

# -ra prints every skip reason (no TLC jar, no live syscall, ...).
# Tests marked slow (TLC on the 12 largest presets, the full diagrams staleness check) take about
# ten more minutes on two cores; they run with MEMBARRIER_SPEC_SLOW=1, or pass your own -m.
select=()
if [ "${MEMBARRIER_SPEC_SLOW:-0}" != "1" ] && [[ " $* " != *" -m "* ]]; then
    select=(-m "not slow")
    echo "test.sh: deselecting tests marked slow (MEMBARRIER_SPEC_SLOW=1 runs them)" >&2
fi
status=0
python -m pytest -ra "${select[@]}" "$@" || status=$?
if [ "$status" -eq 5 ]; then
    # "no tests collected" must not look like success in CI
    echo "test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
