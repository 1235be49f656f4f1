"""The live-kernel adapter: the :class:`~membarrier_spec.System` façade on the real membarrier(2).

:class:`LiveSystem` has the model's methods and return conventions, but every
model process is a real process and every model thread a real thread of it
(see :mod:`membarrier_spec.syscall.kernel_worker`), and ``membarrier`` is the real
syscall (x86-64 number 324) issued from that thread.  The conformance run and
the live tests drive both with the same operations and compare the answers.

>>> if live_unavailable_reason() is None:
...     with LiveSystem() as live:
...         t = live.spawn_process()
...         live.membarrier(t, Cmd.PRIVATE_EXPEDITED)
... else:
...     -1
-1

No worker outlives its LiveSystem: close() (or leaving the ``with`` block,
or garbage collection, or interpreter exit) has the LiveSystem's reaper
process kill them all; if the controller is killed outright, the reaper sees
its socket close and does the same, and the first-generation workers also
carry PR_SET_PDEATHSIG.

One difference from the model's bookkeeping is deliberate: each real process
also has an idle main thread (so model threads can exit in any order), one
more user of its mm.  mm_users only decides the single-user shortcut of the
private expedited commands, which returns 0 just as the full barrier does.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import select
import signal
import socket
import subprocess
import sys
import time
import weakref
from typing import Any

import attrs

from ..abi import ENOSYS, EPERM, Cmd, SYS_membarrier_x86_64, c_int, c_uint, ret_name
from ..errors import TaskError
from ..model.config import MAX_CPUS, Config

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_worker.py")
DEFAULT_TIMEOUT = 10.0  # seconds per operation
NOHZ_FULL_PATH = "/sys/devices/system/cpu/nohz_full"
MAX_MSG = 256


class LiveKernelError(RuntimeError):
    """The live kernel cannot be used, or a worker failed (died, hung, or answered an error)."""


# --------------------------------------------------------------------------- the machine


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def raw_membarrier(cmd: int, flags: int = 0, cpu_id: int = 0) -> int:
    """membarrier(2) in *this* process: >= 0 or -errno.  Only QUERY is ever issued here."""
    ret = _libc().syscall(ctypes.c_long(SYS_membarrier_x86_64), ctypes.c_int(c_int(cmd)),
                          ctypes.c_uint(c_uint(flags)), ctypes.c_int(c_int(cpu_id)))
    return ret if ret >= 0 else -ctypes.get_errno()


@functools.cache
def live_unavailable_reason() -> str | None:
    """Why the live kernel cannot be compared with the model here, or None when it can."""
    if os.environ.get("MEMBARRIER_SPEC_NO_LIVE"):
        return "live kernel disabled by MEMBARRIER_SPEC_NO_LIVE"
    if sys.platform != "linux":
        return f"not Linux (sys.platform is {sys.platform!r})"
    if platform.machine() not in ("x86_64", "AMD64"):
        return f"not x86-64 (machine is {platform.machine()!r}); only syscall number 324 is known"
    if not hasattr(os, "pidfd_open") or not hasattr(signal, "pidfd_send_signal"):
        return "os.pidfd_open is unavailable (needs Linux >= 5.3)"
    if not os.path.exists(WORKER):
        return f"worker script missing: {WORKER}"
    try:
        ret = raw_membarrier(Cmd.QUERY)
    except OSError as exc:
        return f"cannot call syscall() through ctypes: {exc}"
    if ret == -ENOSYS:
        return "membarrier(2) returns ENOSYS: kernel built without CONFIG_MEMBARRIER"
    if ret == -EPERM:
        return "membarrier(2) returns EPERM: blocked by a seccomp filter (container runtime profile?)"
    if ret < 0:
        return f"membarrier(MEMBARRIER_CMD_QUERY) failed with {ret_name(ret)}"
    return None


def _require_live() -> None:
    reason = live_unavailable_reason()
    if reason is not None:
        raise LiveKernelError(f"live kernel unavailable: {reason}")


def live_query_mask() -> int:
    """MEMBARRIER_CMD_QUERY on the running kernel."""
    _require_live()
    return raw_membarrier(Cmd.QUERY)


def live_nohz_full() -> bool:
    """A ``nohz_full=`` CPU list is in force (the file is absent without CONFIG_NO_HZ_FULL)."""
    try:
        with open(NOHZ_FULL_PATH) as f:
            text = f.read().strip()
    except OSError:
        return False
    return text not in ("", "(null)")


def live_config() -> Config:
    """The Config knobs of the running kernel, so model and kernel are compared on equal terms.

    nohz_full also shows in QUERY (GLOBAL is missing from the mask); either sign counts.
    """
    mask = live_query_mask()
    cpus = os.sysconf("SC_NPROCESSORS_ONLN")
    return Config(
        online_cpus=max(1, min(cpus, MAX_CPUS)),
        nohz_full=live_nohz_full() or not mask & Cmd.GLOBAL,
        arch_sync_core=bool(mask & Cmd.PRIVATE_EXPEDITED_SYNC_CORE),
        rseq=bool(mask & Cmd.PRIVATE_EXPEDITED_RSEQ),
    )


# --------------------------------------------------------------------------- bookkeeping


@attrs.define(eq=False)
class _Proc:
    """A real process: its pid and a pidfd (kill and wait without pid-reuse races)."""

    pid: int
    pidfd: int


@attrs.define(eq=False)
class _Task:
    """A model task: the real thread serving ``sock`` in ``proc``."""

    proc: _Proc
    sock: socket.socket
    native_tid: int
    alive: bool = True


@attrs.define(eq=False)
class _Resources:
    """Everything a LiveSystem must release; owned by its finalizer, so no cycle through self."""

    timeout: float
    reaper: subprocess.Popen | None = None
    ctl: socket.socket | None = None
    procs: list[_Proc] = attrs.Factory(list)
    socks: list[socket.socket] = attrs.Factory(list)

    def release(self) -> None:
        """Kill every worker and reap the reaper; safe to call twice."""
        if self.reaper is not None and not self._shutdown_reaper():
            self._kill_directly()
        for sock in self.socks:
            sock.close()
        for proc in self.procs:
            _close_fd(proc.pidfd)
        self.socks.clear()
        self.procs.clear()
        self.reaper = None

    def _shutdown_reaper(self) -> bool:
        """Ask the reaper to kill its session and exit: True when it did."""
        try:
            self.ctl.settimeout(self.timeout)
            self.ctl.send(b"shutdown")
            ok = self.ctl.recv(MAX_MSG) == b"ok"
            self.reaper.wait(self.timeout)
            return ok
        except (OSError, subprocess.TimeoutExpired):
            return False
        finally:
            self.ctl.close()

    def _kill_directly(self) -> None:
        # Newest first: a forked child dies while its parent can still reap it.
        for proc in reversed(self.procs):
            _pidfd_kill(proc.pidfd)
            _wait_pidfd(proc.pidfd, self.timeout)
        self.reaper.kill()
        self.reaper.wait()


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _pidfd_kill(pidfd: int) -> None:
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:  # already gone (ESRCH) or fd closed
        pass


def _wait_pidfd(pidfd: int, timeout: float) -> bool:
    """Wait until the process has exited (its pidfd turns readable): True if it did in time."""
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    except (OSError, ValueError):
        return True


def _pair() -> tuple[socket.socket, socket.socket]:
    """A message socket pair, both ends close-on-exec: (ours, the worker's)."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


# --------------------------------------------------------------------------- the façade


class LiveSystem:
    """The model's :class:`~membarrier_spec.System` interface on real processes and threads.

    Task ids are assigned as the model assigns them (0, 1, 2... in creation
    order, never reused), and an unknown or exited id raises the same
    :class:`~membarrier_spec.errors.TaskError` with the same message.  A dead
    or hung worker raises :class:`LiveKernelError` after ``timeout`` seconds.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT):
        _require_live()
        self.timeout = timeout
        self._tasks: list[_Task] = []
        self._res = _Resources(timeout=timeout)
        # Runs at close(), on garbage collection, and at interpreter exit (the atexit backstop).
        self._finalizer = weakref.finalize(self, self._res.release)

    def __enter__(self) -> "LiveSystem":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Kill every worker process of this system; later operations raise LiveKernelError."""
        self._finalizer()
        for task in self._tasks:
            task.alive = False

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    # ------------------------------------------------------------------ the System interface

    def spawn_process(self) -> int:
        """A new single-threaded process with an unregistered mm (forked by the reaper); returns its task id."""
        ctl = self._ctl()
        ours, theirs = _pair()
        try:
            socket.send_fds(ctl, [b"spawn"], [theirs.fileno()])
        finally:
            theirs.close()
        words = self._reply(ctl, "spawn_process()", ours)
        return self._new_task(self._adopt(int(words[1])), ours, "spawn_process()")

    def clone_thread(self, tid: int) -> int:
        """A new real thread in ``tid``'s process; returns its task id."""
        task = self._task(tid)
        ours, theirs = _pair()
        self._request(task, f"clone_thread({tid})", "clone", theirs, ours)
        return self._new_task(task.proc, ours, f"clone_thread({tid})")

    def fork(self, tid: int) -> int:
        """fork() issued by thread ``tid``; returns the child's task id."""
        task = self._task(tid)
        ours, theirs = _pair()
        words = self._request(task, f"fork({tid})", "fork", theirs, ours)
        return self._new_task(self._adopt(int(words[1])), ours, f"fork({tid})")

    def exec(self, tid: int) -> None:
        """execve() of a fresh worker by thread ``tid``: the kernel ends the process's other threads."""
        task = self._task(tid)
        words = self._request(task, f"exec({tid})", "exec")
        if words[0] != "ready" or int(words[1]) != task.proc.pid:
            raise LiveKernelError(f"exec({tid}): unexpected answer {' '.join(words)!r}")
        task.native_tid = int(words[2])
        for other in self._tasks:
            if other.alive and other.proc is task.proc and other is not task:
                self._bury(other)

    def exit(self, tid: int) -> None:
        """Thread ``tid`` ends; with it the process, when it was the last thread."""
        task = self._task(tid)
        self._request(task, f"exit({tid})", "exit")
        self._bury(task)
        if any(t.alive and t.proc is task.proc for t in self._tasks):
            self._wait_thread_gone(task)
        elif not _wait_pidfd(task.proc.pidfd, self.timeout):
            raise LiveKernelError(f"exit({tid}): process {task.proc.pid} still running after {self.timeout:g} s")

    def membarrier(self, tid: int, cmd: int, flags: int = 0, cpu_id: int = 0) -> int:
        """The real ``membarrier(cmd, flags, cpu_id)`` from thread ``tid``: >= 0, or -errno.

        Arguments wrap to C ``int``, ``unsigned int``, ``int`` as in the model.
        """
        task = self._task(tid)
        cmd, flags, cpu_id = c_int(int(cmd)), c_uint(int(flags)), c_int(int(cpu_id))
        words = self._request(task, f"membarrier({tid}, {cmd}, {flags}, {cpu_id})",
                              f"mb {cmd} {flags} {cpu_id}")
        return int(words[0])

    def fail_next_allocation(self) -> None:
        raise NotImplementedError("the live kernel cannot be made to fail a cpumask allocation")

    def alive_tasks(self) -> list[int]:
        return [i for i, t in enumerate(self._tasks) if t.alive]

    # ------------------------------------------------------------------ introspection

    def pid_of(self, tid: int) -> int:
        """The real pid of task ``tid``'s process."""
        return self._task(tid).proc.pid

    def native_tid_of(self, tid: int) -> int:
        """The real thread id (gettid()) behind task ``tid``."""
        return self._task(tid).native_tid

    def pids(self) -> list[int]:
        """Every real pid this system created, the reaper's first."""
        reaper = [self._res.reaper.pid] if self._res.reaper is not None else []
        return reaper + sorted({t.proc.pid for t in self._tasks})

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self.alive_tasks())} live tasks"
        return f"<LiveSystem {state}>"

    # ------------------------------------------------------------------ plumbing

    def _task(self, tid: int) -> _Task:
        """The live task ``tid``; the model's TaskError, word for word, otherwise."""
        if self.closed:
            raise LiveKernelError("this LiveSystem is closed")
        n = len(self._tasks)
        if isinstance(tid, bool) or not isinstance(tid, int) or not 0 <= tid < n:
            raise TaskError(f"unknown task id {tid!r} (known: 0..{n - 1})" if n
                            else f"unknown task id {tid!r} (no task has been spawned)")
        task = self._tasks[tid]
        if not task.alive:
            raise TaskError(f"task {tid} has exited")
        return task

    def _ctl(self) -> socket.socket:
        """The reaper's socket, starting the reaper on first use."""
        if self.closed:
            raise LiveKernelError("this LiveSystem is closed")
        res = self._res
        if res.reaper is None:
            ours, theirs = _pair()
            try:
                res.reaper = subprocess.Popen(
                    [sys.executable, "-I", "-S", WORKER, "reaper", str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    start_new_session=True)  # its own session: ^C and the session kill stay inside
            finally:
                theirs.close()
            res.ctl = ours
            ours.settimeout(self.timeout)
            self._reply(ours, "starting the reaper")
        return res.ctl

    def _adopt(self, pid: int) -> _Proc:
        proc = _Proc(pid=pid, pidfd=os.pidfd_open(pid))
        self._res.procs.append(proc)
        return proc

    def _new_task(self, proc: _Proc, sock: socket.socket, what: str) -> int:
        """Wait for the new thread's ``ready``, then give it the next task id."""
        sock.settimeout(self.timeout)
        self._res.socks.append(sock)
        words = self._reply(sock, what)
        if words[0] != "ready" or int(words[1]) != proc.pid:
            raise LiveKernelError(f"{what}: unexpected greeting {' '.join(words)!r}")
        self._tasks.append(_Task(proc=proc, sock=sock, native_tid=int(words[2])))
        return len(self._tasks) - 1

    def _request(self, task: _Task, what: str, text: str, give: socket.socket | None = None,
                 keep: socket.socket | None = None) -> list[str]:
        """Send one command to ``task``'s thread (handing over ``give``) and return its answer."""
        try:
            try:
                socket.send_fds(task.sock, [text.encode()], [give.fileno()] if give else [])
            except OSError as exc:
                raise LiveKernelError(f"{what}: worker pid {task.proc.pid} unreachable: {exc}") from None
            finally:
                if give is not None:
                    give.close()
            return self._reply(task.sock, what, task.proc.pid)
        except LiveKernelError:
            if keep is not None:
                keep.close()
            raise

    def _reply(self, sock: socket.socket, what: str, pid: int | None = None) -> list[str]:
        where = f" (pid {pid})" if pid else ""
        try:
            data = sock.recv(MAX_MSG)
        except TimeoutError:
            raise LiveKernelError(f"{what}: no answer from the worker{where} within {self.timeout:g} s") from None
        except OSError as exc:
            raise LiveKernelError(f"{what}: lost the worker{where}: {exc}") from None
        if not data:
            raise LiveKernelError(f"{what}: the worker{where} died")
        words = data.decode().split()
        if words[0] == "err":
            raise LiveKernelError(f"{what}: worker{where} failed: {' '.join(words[1:])}")
        return words

    def _bury(self, task: _Task) -> None:
        task.alive = False
        task.sock.close()

    def _wait_thread_gone(self, task: _Task) -> None:
        """Until the real thread has left (so its mm user is dropped, as in the model)."""
        path = f"/proc/{task.proc.pid}/task/{task.native_tid}"
        deadline = time.monotonic() + self.timeout
        while os.path.exists(path):
            if time.monotonic() > deadline:
                raise LiveKernelError(f"thread {task.native_tid} of pid {task.proc.pid} did not exit")
            time.sleep(0.0002)
