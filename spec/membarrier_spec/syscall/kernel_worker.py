"""The real processes behind :class:`membarrier_spec.syscall.kernel.LiveSystem`.

Run by path (``python -I -S kernel_worker.py ...``), never imported by the
package: it uses the standard library only, so a worker starts in ~20 ms.

Two roles:

``reaper <ctl_fd>``
    One per LiveSystem.  A child subreaper with SIGCHLD ignored, so every
    worker below it (and every orphan of a worker that exited) is reaped at
    once.  It spawns model processes on request: a plain fork() of itself, a
    single-threaded process whose mm never registered anything, so membarrier
    cannot tell it from a fresh execve (and it costs ~1 ms, not ~20).  On ``shutdown`` (LiveSystem.close()), or when its socket
    closes because the controller died, it SIGKILLs every process of its
    session, waits until they are gone, and exits.

``task <fd> <reaper_pid>``
    A model process.  Each model thread is a real thread blocked on its own
    SOCK_SEQPACKET socket to the controller; it runs the commands sent to it:

    ==================  ======================================================
    ``mb C F I``        membarrier(C, F, I) from this thread; reply the result
    ``clone`` + fd      start a thread serving fd; reply ``ok``
    ``fork`` + fd       fork() from this thread; the child serves fd
    ``exec``            execve() this file from this thread, keeping its socket
    ``exit``            reply ``ok``, end this thread (the process if last)
    ``sleep S``         sleep S seconds (tests of the controller's timeout)
    ==================  ======================================================

    Every new task thread first sends ``ready <pid> <tid>``.  End of file on a
    thread's socket means the controller is gone: the thread exits, and the
    last one ends the process.  The main thread only waits, so model threads
    can exit in any order.
"""

import ctypes
import os
import signal
import socket
import sys
import threading
import time
import warnings

SYS_membarrier = 324  # x86-64
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
MAX_MSG = 256

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

_lock = threading.Lock()
_live = 0  # model threads alive in this process
_socks = set()  # sockets of this process's model threads (closed in a forked child)


def membarrier(cmd, flags, cpu_id):
    """The raw syscall: >= 0, or -errno."""
    ret = _libc.syscall(ctypes.c_long(SYS_membarrier), ctypes.c_int(cmd), ctypes.c_uint(flags),
                        ctypes.c_int(cpu_id))
    return ret if ret >= 0 else -ctypes.get_errno()


def prctl(option, arg):
    if _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                   ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def send(sock, text, fds=()):
    socket.send_fds(sock, [text.encode()], list(fds))


def recv(sock):
    """(words, fds); ([], []) at end of file."""
    try:
        data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MSG, 1)
    except OSError:
        return [], []
    return data.decode().split(), fds


def _supervise():
    """The main thread's whole job: stay out of the way until a model thread ends the process."""
    while True:
        signal.pause()


def _start_thread(sock):
    global _live
    with _lock:
        _live += 1
        _socks.add(sock)
    threading.Thread(target=serve, args=(sock,), daemon=True).start()


def _leave(sock):
    """This model thread is done: True when it was the process's last one."""
    global _live
    with _lock:
        _live -= 1
        return _live == 0


def _close(sock):
    sock.close()
    _socks.discard(sock)  # after close: a fork in between closes the child's copy


def _fork(sock, child_sock):
    """fork() from this thread; in the child this thread waits while a new one serves child_sock."""
    global _lock, _live, _socks
    pid = os.fork()
    if pid:
        child_sock.close()
        send(sock, f"ok {pid}")
        return
    for inherited in list(_socks):  # the parent's model threads are not ours
        inherited.close()
    _lock, _live, _socks = threading.Lock(), 0, set()
    _start_thread(child_sock)
    _supervise()


def _exec(sock, reaper_pid):
    """execve() this file from this thread: the kernel ends the other threads, the socket survives."""
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    try:
        os.execv(sys.executable, [sys.executable, "-I", "-S", os.path.abspath(__file__), "task", str(fd),
                                  str(reaper_pid)])
    except OSError as exc:
        os.set_inheritable(fd, False)
        send(sock, f"err execv: {exc}")


def serve(sock):
    """One model thread: run the controller's commands until exit or end of file."""
    send(sock, f"ready {os.getpid()} {threading.get_native_id()}")
    while True:
        words, fds = recv(sock)
        op = words[0] if words else "eof"
        try:
            if _run(sock, op, words, fds):
                return
        except Exception as exc:  # report, keep serving: the controller shows the error
            send(sock, f"err {op}: {exc!r}")


def _run(sock, op, words, fds):
    """Run one command; True when this thread is done."""
    if op == "mb":
        send(sock, str(membarrier(int(words[1]), int(words[2]), int(words[3]))))
    elif op == "clone":
        _start_thread(socket.socket(fileno=fds[0]))
        send(sock, "ok")
    elif op == "fork":
        _fork(sock, socket.socket(fileno=fds[0]))
    elif op == "exec":
        _exec(sock, _reaper_pid)
    elif op == "sleep":
        time.sleep(float(words[1]))
        send(sock, "ok")
    elif op in ("exit", "eof"):
        last = _leave(sock)
        if op == "exit":
            send(sock, "ok")
        if last:
            os._exit(0)
        _close(sock)
        return True
    else:
        send(sock, f"err unknown command {op!r}")
    return False


def _kill_session():
    """SIGKILL every other process of this session (all our descendants) until none is left."""
    me, sid = os.getpid(), os.getsid(0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        others = [pid for pid in _session_pids(sid) if pid != me]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.001)


def _session_pids(sid):
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # after ")": state ppid pgrp session
            pids.append(int(name))
    return pids


def reaper_main(ctl_fd):
    """Spawn task processes on request; on ``shutdown`` or end of file, kill them all and exit."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    ctl = socket.socket(fileno=ctl_fd)
    send(ctl, f"ready {os.getpid()}")
    while True:
        words, fds = recv(ctl)
        if words[:1] != ["spawn"]:
            break
        child_fd = fds[0]
        pid = os.fork()
        if pid == 0:  # a copy of the reaper, whose mm was never registered: as fresh as an execve
            ctl.close()
            task_main(child_fd, os.getppid())
        os.close(child_fd)
        send(ctl, f"ok {pid}")
    _kill_session()
    if words[:1] == ["shutdown"]:
        send(ctl, "ok")
    os._exit(0)


_reaper_pid = 0


def task_main(fd, reaper_pid):
    global _reaper_pid
    _reaper_pid = reaper_pid
    if os.getppid() == reaper_pid:
        # Spawned by the reaper: die with it.  (Not for forked children: their
        # parent is a model thread, which the model may end before them.)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != reaper_pid:
            os._exit(1)
    _start_thread(socket.socket(fileno=fd))
    _supervise()


def main(argv):
    warnings.simplefilter("ignore")  # fork() in a threaded process: deliberate here
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel, no zombies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal ^C is for the controller
    if argv[1:2] == ["reaper"]:
        reaper_main(int(argv[2]))
    elif argv[1:2] == ["task"]:
        task_main(int(argv[2]), int(argv[3]))
    else:
        sys.exit("usage: kernel_worker.py reaper CTL_FD | task FD REAPER_PID")


if __name__ == "__main__":
    main(sys.argv)
