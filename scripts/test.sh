#!/usr/bin/env bash
# Set up, then run the test suite; extra arguments go to pytest (e.g. -q, -k NAME, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

# -ra prints every skip reason (no TLC jar, no live syscall, ...).
status=0
python -m pytest -ra "$@" || status=$?
if [ "$status" -eq 5 ]; then
    # "no tests collected" must not look like success in CI
    echo "test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
