"""Bad input and interruptions across every subcommand: a documented exit status, one clear line on stderr,
no traceback, and nothing left behind (no child process, no temporary directory).

The cases are generated from the tables below, not written one by one.  Most run in-process through
``cli.main`` (fast); writing to a full disk and the signals run the real command in a subprocess.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import default_signals, tlc_or_skip

from membarrier_spec.cli import app as cli
from membarrier_spec.syscall.kernel import live_unavailable_reason

BAD_INPUT = 2
SMALL = "register-no-rq-sync"

PRESET_COMMANDS = ["explore {}", "check {}", "check {} --engine explorer", "generate {} --out {tmp}/tla",
                   "diagrams {} --out {tmp}/d", "report {} --out {tmp}/r", "verify {}", "switch-cost {}"]
BAD_PRESETS = ["nope", "MAINLINE", "main line", "../x", "ppc_2017", "mainline;ls"]

NUMERIC_OPTIONS = [("explore " + SMALL, "--max-states"), ("verify " + SMALL, "--jobs"),
                   ("diagrams " + SMALL + " --out {tmp}/d", "--jobs"), ("report " + SMALL + " --out {tmp}/r", "--jobs"),
                   ("check " + SMALL, "--workers"), ("check " + SMALL, "--timeout"), ("conformance", "--sequences"),
                   ("conformance", "--steps"), ("probe", "--count"), ("probe", "--samples"), ("probe", "--attempts")]
BAD_NUMBERS = ["0", "-1", "abc", "1.5", ""]
VALID = {("--timeout", "1.5")}  # a timeout may be fractional

BAD_OVERRIDES = ["online_cpus=1", "online_cpus=9", "online_cpus=x", "foo=1", "exit_mb=maybe", "targets=nowhere",
                 "scenarios=nope", "=1", "noequals"]

BAD_TRACES = {
    "not-json": "{ this is not json",
    "a-list": "[1, 2]",
    "no-preset": json.dumps({"counterexamples": {}}),
    "no-counterexamples": json.dumps({"preset": "mainline"}),
    "counterexamples-a-list": json.dumps({"preset": "mainline", "counterexamples": [1]}),
    "unknown-preset": json.dumps({"preset": "nope", "counterexamples": {}}),
    "preset-a-number": json.dumps({"preset": 7, "counterexamples": {}}),
    "trace-a-number": json.dumps({"preset": "mainline", "counterexamples": {"Ordering": 5}}),
    "trace-empty": json.dumps({"preset": "mainline", "counterexamples": {"Ordering": []}}),
    "step-a-string": json.dumps({"preset": "mainline", "counterexamples": {"Ordering": ["Init"]}}),
    "step-without-state": json.dumps({"preset": "mainline", "counterexamples": {"Ordering": [{"action": "Init"}]}}),
    "step-without-action": json.dumps({"preset": "mainline", "counterexamples": {"Ordering": [{"state": {}}]}}),
    "args-a-list": json.dumps({"preset": "mainline", "counterexamples": {
        "Ordering": [{"action": "Init", "state": {}, "args": []}]}}),
    "first-not-init": json.dumps({"preset": "mainline", "counterexamples": {
        "Ordering": [{"action": "drain", "state": {}}]}}),
    "damaged-tlc-log": "TLC2 Version 2.20\nError: Invariant Ordering is violated.\nState 1: <Init>\n/\\ garbage",
    "binary": "\x00\x01\x02",
    "empty": "",
}

UNWRITABLE = ["{tmp}/a-file", "/proc/nope/x", "/dev/null/x"]
DESTINATIONS = ["generate --out {}", "diagrams " + SMALL + " --out {}", "report " + SMALL + " --out {}"]

USAGE = ["", "nope", "explore", "presets extra", "replay", "explore --bogus", "probe nope",
         "probe --samples 5 --attempts 2", "check", "switch-cost --bogus", "install-tlc --dest {tmp}/a-dir",
         "generate --bogus"]


def _cases():
    for cmd in PRESET_COMMANDS:
        for name in BAD_PRESETS:
            yield pytest.param(cmd.replace("{}", json.dumps(name)), BAD_INPUT, id=f"{cmd.split()[0]}-{name}")
    for cmd, opt in NUMERIC_OPTIONS:
        for value in BAD_NUMBERS:
            if (opt, value) not in VALID:
                yield pytest.param(f"{cmd} {opt} {json.dumps(value)}", BAD_INPUT, id=f"{cmd.split()[0]}{opt}={value}")
    for name in ("mainline", SMALL):
        for override in BAD_OVERRIDES:
            yield pytest.param(f"explore {name} {override}", BAD_INPUT, id=f"explore-{name}-{override}")
    for label in BAD_TRACES:
        yield pytest.param(f"replay {{tmp}}/{label}.trace", BAD_INPUT, id=f"replay-{label}")
    for cmd in DESTINATIONS:
        for dest in UNWRITABLE:
            yield pytest.param(cmd.format(dest), BAD_INPUT, id=f"{cmd.split()[0]}-to-{dest}")
    for dest in UNWRITABLE[1:]:
        yield pytest.param(f"install-tlc --dest {dest}/tla2tools.jar", BAD_INPUT, id=f"install-tlc-to-{dest}")
    for args in USAGE:
        yield pytest.param(args, BAD_INPUT, id=f"usage-{args or 'nothing'}")


CASES = list(_cases())


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    """Each test's commands keep their temporary files (TLC's, the probe's) in the test's own directory, so the
    leftover checks see what this test left and nothing another run on the machine is doing."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))       # the commands run in child processes
    monkeypatch.setattr(tempfile, "tempdir", str(root))  # and those run in this one
    return root


def _leftovers() -> tuple[set[str], set[int]]:
    """Temporary directories of ours, and processes that are our children or TLC/probe workers of this test
    (their command lines name files in its temporary directory)."""
    root = tempfile.gettempdir()
    dirs = set(glob.glob(os.path.join(root, "membarrier-*")))
    procs = set()
    me = os.getpid()
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
            cmdline = Path(stat).with_name("cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        if ppid == me or root.encode() in cmdline:
            procs.add(int(stat.split("/")[2]))
    return dirs, procs


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-dir").mkdir()
    for label, text in BAD_TRACES.items():
        (tmp_path / f"{label}.trace").write_text(text)
    return tmp_path


def _split(args: str, tmp: Path) -> list[str]:
    import shlex
    return shlex.split(args.replace("{tmp}", str(tmp)))


@pytest.mark.parametrize("args,status", CASES)
def test_bad_input_is_one_line(args, status, workdir, capsys, monkeypatch, request):
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("MEMBARRIER_SPEC_NO_LIVE", "1")  # probe and conformance refuse before any live work
    live_unavailable_reason.cache_clear()  # the answer is cached: ask again with the switch set...
    request.addfinalizer(live_unavailable_reason.cache_clear)  # ...and again without it afterwards
    before = _leftovers()
    fails_in_argparse = _argparse_fails(args, workdir)
    capsys.readouterr()  # that trial parse's own message
    with pytest.raises(SystemExit) if fails_in_argparse else _no_exit():
        got = cli.main(_split(args, workdir))
        assert got == status, capsys.readouterr().err
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("downloading ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "error" in lines[0]
    dirs, procs = _leftovers()
    assert dirs <= before[0], dirs - before[0]
    assert procs <= before[1], procs - before[1]


def _argparse_fails(args: str, tmp: Path) -> bool:
    """argparse reports its own errors by SystemExit(2) (cli._Parser), before main's handlers."""
    try:
        cli.build_parser().parse_args(_split(args, tmp))
    except SystemExit as exc:
        assert exc.code == BAD_INPUT
        return True
    return False


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_sweep_is_large():
    assert len(CASES) >= 150, len(CASES)


# --- in a subprocess: standard output that cannot be written, and signals ------------------------------------

def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "membarrier_spec.cli", *args], capture_output=False, text=True,
                          stderr=subprocess.PIPE, timeout=120, **kw)


@pytest.mark.parametrize("args", [["presets"], ["presets", "--json"], ["explore", SMALL], ["verify", SMALL, "--fresh"],
                                  ["generate", "--check"]])
def test_a_full_disk_is_one_line(args, tmp_path):
    cwd = Path(__file__).resolve().parent.parent if args[0] == "generate" else tmp_path
    with open("/dev/full", "w") as full:
        proc = _run(args, stdout=full, cwd=cwd)
    assert proc.returncode == cli.EXIT_IO_ERROR, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]  # progress lines may come first
    assert len(errors) == 1 and "No space left" in errors[0] and "Traceback" not in proc.stderr, proc.stderr


SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 143)]




def _interrupt(args: list[str], sig: int, wait_for: str, cwd: Path) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "membarrier_spec.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, preexec_fn=default_signals)
    deadline = time.monotonic() + 60
    seen = ""
    while time.monotonic() < deadline:  # wait until the work has started (its progress line)
        line = proc.stderr.readline()
        seen += line
        if wait_for in line or not line:
            break
    proc.send_signal(sig)
    rest = proc.stderr.read()
    return proc.wait(timeout=60), (seen + rest)


@pytest.mark.parametrize("sig,status", SIGNALS, ids=[s.name for s, _ in SIGNALS])
def test_signals_during_exploration(sig, status, tmp_path):
    code, err = _interrupt(["explore", "mainline"], sig, "mainline", tmp_path)
    assert code == status, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("membarrier-spec: ")


@pytest.mark.tlc
@pytest.mark.parametrize("sig,status", SIGNALS, ids=[s.name for s, _ in SIGNALS])
def test_signals_during_tlc_leave_nothing_behind(sig, status, tmp_path):
    tlc_or_skip()
    before = _leftovers()
    code, err = _interrupt(["check", "mainline", "--engine", "tlc"], sig, "generated", tmp_path)
    assert code == status, err
    assert "Traceback" not in err
    time.sleep(0.5)
    dirs, procs = _leftovers()
    assert dirs <= before[0] and procs <= before[1], (dirs - before[0], procs - before[1])


@pytest.mark.tlc
def test_a_killed_run_is_reclaimed_by_the_next(tmp_path):
    """SIGKILL of Python: TLC dies with it (PR_SET_PDEATHSIG), and the next run removes its temporary files."""
    tlc = tlc_or_skip()
    before = _leftovers()
    proc = subprocess.Popen([sys.executable, "-m", "membarrier_spec.cli", "check", "mainline", "--engine", "tlc"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path, preexec_fn=default_signals)
    while "generated" not in (proc.stderr.readline() or "generated"):
        pass
    proc.kill()
    proc.wait()
    time.sleep(1)
    assert not _leftovers()[1] - before[1], "TLC outlived its parent"
    tlc.reclaim_temporary_dirs()
    assert _leftovers()[0] <= before[0]


@pytest.mark.tlc
@pytest.mark.parametrize("module", ["EvalInvariant", "EvalNext"])
def test_tlc_evaluation_errors_reach_the_user(module, capsys):
    """An evaluation error is TLC's failure, said in TLC's words, after one run: never a violation, never
    'gave up after N runs'."""
    from membarrier_spec.cli.tlc import tlc_run_main
    tlc_or_skip()
    fixtures = Path(__file__).resolve().parent / "fixtures" / "tla"
    status = tlc_run_main([str(fixtures / f"{module}.tla"), "--config", str(fixtures / f"{module}.cfg")])
    err = capsys.readouterr().err
    assert status != 0 and "Attempted to" in err and "gave up" not in err and "violated" not in err, err
    assert "Traceback" not in err
