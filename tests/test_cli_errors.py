"""Bad input gives a one-line error and no traceback: exit status 2 from the CLI, a
MembarrierSpecError (ConfigError / TaskError) from the Python façade."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from membarrier_spec import ConfigError, PRESETS, System, TaskError
from membarrier_spec.errors import MembarrierSpecError


def run_cli(*args: str, console_script: bool = False) -> subprocess.CompletedProcess:
    if console_script:
        exe = Path(sys.executable).with_name("membarrier-spec")
        exe = str(exe) if exe.exists() else shutil.which("membarrier-spec")
        if exe is None:
            pytest.skip("the membarrier-spec console script is not installed next to this Python")
        argv = [exe, *args]
    else:
        argv = [sys.executable, "-m", "membarrier_spec.cli", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def assert_one_line_error(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip("\n").splitlines()
    assert len(lines) == 1, proc.stderr
    assert "error" in lines[0]


@pytest.mark.parametrize("args", [
    ["nope"],
    [],
    ["--no-such-option"],
    ["presets", "--bogus"],
    ["conformance", "--sequences", "-1"],
    ["conformance", "--sequences", "0"],
    ["conformance", "--sequences", "many"],
    ["conformance", "--steps", "-3"],
    ["conformance", "--seed", "x"],
], ids=lambda a: " ".join(a) or "no-args")
def test_cli_bad_arguments(args):
    assert_one_line_error(run_cli(*args))


def test_cli_unknown_subcommand_names_the_known_ones():
    proc = run_cli("nope")
    assert_one_line_error(proc)
    assert "presets" in proc.stderr and "conformance" in proc.stderr


def test_console_script_bad_arguments():
    proc = run_cli("conformance", "--sequences", "-1", console_script=True)
    assert_one_line_error(proc)
    assert "--sequences" in proc.stderr


def test_help_lists_subcommands():
    proc = run_cli("--help", console_script=True)
    assert proc.returncode == 0, proc.stderr
    for name in ("presets", "conformance", "explore", "verify"):
        assert name in proc.stdout


def test_unknown_preset_from_the_cli_is_one_line():
    proc = run_cli("explore", "nope")
    assert_one_line_error(proc)
    assert "unknown preset 'nope'" in proc.stderr and "mainline" in proc.stderr


@pytest.mark.parametrize("args", [
    ["explore", "mainline", "online_cpus=-1"],
    ["explore", "mainline", "online_cpus=9"],
    ["explore", "mainline", "no_such_field=1"],
    ["explore", "mainline", "scenarios=nope"],
    ["explore", "mainline", "entry_mb=maybe"],
    ["explore", "mainline", "--max-states", "0"],
    ["verify", "nope"],
], ids=lambda a: " ".join(a))
def test_explore_bad_input_is_one_line(args):
    assert_one_line_error(run_cli(*args))


def assert_one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg
    return msg


def test_unknown_preset_lists_known_presets():
    with pytest.raises(ConfigError) as info:
        System(preset="nope")
    msg = assert_one_line(info.value)
    assert "nope" in msg
    for name in PRESETS:
        assert name in msg


@pytest.mark.parametrize("value", [-1, 0, 65, 2.5, True, "2"])
def test_bad_cpu_count_names_field_and_range(value):
    with pytest.raises(ConfigError) as info:
        System(online_cpus=value)
    msg = assert_one_line(info.value)
    assert "online_cpus" in msg and "1..64" in msg


def test_bad_config_values():
    for kwargs, words in [({"nohz_full": "yes"}, ["nohz_full", "true or false"]),
                          ({"fork_policy": "share"}, ["fork_policy", "inherit", "clear"]),
                          ({"alloc_policy": "x"}, ["alloc_policy", "ewouldblock"]),
                          ({"cpus": 2}, ["cpus", "online_cpus"])]:
        with pytest.raises(ConfigError) as info:
            System(**kwargs)
        msg = assert_one_line(info.value)
        assert all(w in msg for w in words), (kwargs, msg)


def test_unknown_task_id():
    s = System()
    with pytest.raises(TaskError) as info:
        s.membarrier(99, 0)
    assert "99" in assert_one_line(info.value)
    s.spawn_process()
    for bad in (99, -1, "0", None, True):
        with pytest.raises(TaskError):
            s.membarrier(bad, 0)


def test_exited_task():
    s = System()
    t = s.spawn_process()
    s.exit(t)
    for op in (s.exec, s.exit, s.clone_thread, s.fork, s.membarrier_state,
               lambda tid: s.membarrier(tid, 0)):
        with pytest.raises(TaskError) as info:
            op(t)
        assert "exited" in assert_one_line(info.value)


def test_errors_are_value_errors():
    # one base class lets callers catch every bad-input error at once
    assert issubclass(ConfigError, MembarrierSpecError) and issubclass(TaskError, MembarrierSpecError)
    assert issubclass(MembarrierSpecError, ValueError)
