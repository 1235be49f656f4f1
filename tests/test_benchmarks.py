"""The benchmark scripts run and write the README's tables in the shape the README shows.

Only the smallest rows run here (speed is measured by the scripts, never asserted in tests).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from membarrier_spec import tlc
from membarrier_spec.errors import MembarrierSpecError

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def _bench(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          cwd=BENCH, timeout=timeout)


def _no_tlc() -> str:
    try:
        tlc.find_jar()
        tlc.find_java()
    except MembarrierSpecError as exc:
        return f"no TLC: {exc}"
    return ""


@pytest.mark.tlc
def test_tlc_benchmark_row():
    if reason := _no_tlc():
        print(reason)
        pytest.skip(reason)
    proc = _bench("tlc.py", "--scaling", "--cpus", "2", "--scenario", "global_exit", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("<!-- benchmark:tlc:start -->") and out.rstrip().endswith("<!-- benchmark:tlc:end -->")
    assert "`python benchmarks/tlc.py --scaling --cpus 2 --scenario global_exit --workers 1`" in out
    # the same count as the explorer's scaling table and TLC's agreement on the whole preset
    assert re.search(r"^\| global_exit \| 2 \| 2,177 \| 7,135 \| 31 \| \d+ \| [\d,]+ \|$", out, re.M), out


@pytest.mark.parametrize("args, needle", [
    (["--readme", "--cpus", "3"], "--readme rewrites both full tables"),
    (["--cap", "-1"], "--cap must be 0"),
    (["--scenario", "nope"], "invalid choice"),
])
def test_tlc_benchmark_bad_arguments(args, needle):
    proc = _bench("tlc.py", *args, timeout=60)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def test_tlc_benchmark_without_a_jar_is_one_line(tmp_path):
    proc = _bench("tlc.py", "--scaling", "--cpus", "2", "--jar", str(tmp_path / "missing.jar"), timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
