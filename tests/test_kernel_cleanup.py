"""No worker process outlives its LiveSystem: on exceptions, garbage collection, a hung worker,
or a controller killed with SIGKILL."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from membarrier_spec import Cmd
from membarrier_spec.syscall.kernel import LiveKernelError, LiveSystem, live_unavailable_reason

REASON = live_unavailable_reason()
pytestmark = [pytest.mark.live,
              pytest.mark.skipif(REASON is not None, reason=f"live kernel unavailable: {REASON}")]


def proc_state(pid: int) -> str | None:
    """The state letter of ``pid`` (``Z`` for a zombie), or None when it no longer exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except OSError:
        return None


def descendants(root: int) -> set[int]:
    """Every process below ``root`` (zombies included)."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    parent[int(name)] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except OSError:
                pass
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def busy(live: LiveSystem) -> list[int]:
    """A few processes and threads, registered, forked from a thread, exec'd."""
    t0 = live.spawn_process()
    live.membarrier(t0, Cmd.REGISTER_PRIVATE_EXPEDITED)
    t1 = live.clone_thread(t0)
    t2 = live.fork(t1)
    live.clone_thread(t2)
    t4 = live.fork(t2)
    live.exec(t4)
    live.exit(t2)  # t3 keeps t2's process alive
    live.spawn_process()
    return live.pids()


def wait_gone(pids, timeout=10.0, allow_zombies=False) -> list[int]:
    """The pids still present after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if proc_state(p) is not None and not (allow_zombies and proc_state(p) == "Z")]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def test_exception_inside_with_block_leaves_nothing():
    before = descendants(os.getpid())
    pids = []
    with pytest.raises(ZeroDivisionError):
        with LiveSystem() as live:
            pids = busy(live)
            assert len(pids) >= 4
            assert set(pids) <= descendants(os.getpid())
            1 / 0
    assert descendants(os.getpid()) == before
    assert wait_gone(pids, timeout=0) == []


def test_failing_operation_then_close_leaves_nothing():
    before = descendants(os.getpid())
    live = LiveSystem(timeout=0.5)
    pids = busy(live)
    t = live.alive_tasks()[0]
    start = time.monotonic()
    with pytest.raises(LiveKernelError, match="no answer from the worker .* within 0.5 s"):
        live._request(live._task(t), "hang", "sleep 30")  # a hung worker: a clear error, no hang
    assert time.monotonic() - start < 5
    live.close()
    assert descendants(os.getpid()) == before
    assert wait_gone(pids, timeout=0) == []
    with pytest.raises(LiveKernelError, match="closed"):
        live.membarrier(t, Cmd.QUERY)


def test_forgotten_live_system_is_reaped_by_garbage_collection():
    before = descendants(os.getpid())
    live = LiveSystem()
    pids = busy(live)
    del live
    gc.collect()
    assert descendants(os.getpid()) == before
    assert wait_gone(pids, timeout=0) == []


def test_killed_controller_leaves_no_running_worker():
    """SIGKILL the controller: its reaper sees the socket close and kills every worker.

    The reaper itself then exits as an orphan; an init that does not reap (as in some
    containers) keeps it as a zombie, which is not a running process."""
    script = textwrap.dedent("""
        import json, os, signal, sys
        sys.path.insert(0, %r)
        from test_kernel_cleanup import busy
        from membarrier_spec.syscall.kernel import LiveSystem
        live = LiveSystem()
        print(json.dumps(busy(live)), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """ % os.path.dirname(__file__))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pids = json.loads(proc.stdout)
    assert len(pids) >= 4
    reaper, workers = pids[0], pids[1:]
    assert wait_gone(workers) == []
    assert wait_gone([reaper], allow_zombies=True) == []
