"""The membarrier(2) ABI: command values, the CPU flag, per-mm state bits, errno.

Names follow include/uapi/linux/membarrier.h and kernel/sched/sched.h, with the
``MEMBARRIER_CMD_`` / ``MEMBARRIER_STATE_`` prefixes dropped inside the enums.
"""

from __future__ import annotations

import enum
import errno as _errno

SYS_membarrier_x86_64 = 324


class Cmd(enum.IntFlag):
    """``enum membarrier_cmd``."""

    QUERY = 0
    GLOBAL = 1 << 0
    GLOBAL_EXPEDITED = 1 << 1
    REGISTER_GLOBAL_EXPEDITED = 1 << 2
    PRIVATE_EXPEDITED = 1 << 3
    REGISTER_PRIVATE_EXPEDITED = 1 << 4
    PRIVATE_EXPEDITED_SYNC_CORE = 1 << 5
    REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 6
    PRIVATE_EXPEDITED_RSEQ = 1 << 7
    REGISTER_PRIVATE_EXPEDITED_RSEQ = 1 << 8
    GET_REGISTRATIONS = 1 << 9


SHARED = Cmd.GLOBAL  # MEMBARRIER_CMD_SHARED, the pre-4.16 name of GLOBAL


class CmdFlag(enum.IntFlag):
    """``enum membarrier_cmd_flag``."""

    CPU = 1 << 0


FLAG_CPU = CmdFlag.CPU


class State(enum.IntFlag):
    """``mm->membarrier_state`` bits (mirrored in ``rq->membarrier_state``)."""

    PRIVATE_EXPEDITED_READY = 1 << 0
    PRIVATE_EXPEDITED = 1 << 1
    GLOBAL_EXPEDITED_READY = 1 << 2
    GLOBAL_EXPEDITED = 1 << 3
    PRIVATE_EXPEDITED_SYNC_CORE_READY = 1 << 4
    PRIVATE_EXPEDITED_SYNC_CORE = 1 << 5
    PRIVATE_EXPEDITED_RSEQ_READY = 1 << 6
    PRIVATE_EXPEDITED_RSEQ = 1 << 7


# errno values the syscall returns (negated by the raw kernel entry).
EINVAL = _errno.EINVAL
EPERM = _errno.EPERM
ENOMEM = _errno.ENOMEM
ENOSYS = _errno.ENOSYS
EWOULDBLOCK = _errno.EWOULDBLOCK  # == EAGAIN on Linux

ERRNO_NAMES = {EINVAL: "EINVAL", EPERM: "EPERM", ENOMEM: "ENOMEM", ENOSYS: "ENOSYS", EWOULDBLOCK: "EWOULDBLOCK"}

# GET_REGISTRATIONS: each (state bit pair) maps to the REGISTER command it reports.
REGISTRATION_PAIRS: tuple[tuple[State, Cmd], ...] = (
    (State.GLOBAL_EXPEDITED | State.GLOBAL_EXPEDITED_READY, Cmd.REGISTER_GLOBAL_EXPEDITED),
    (State.PRIVATE_EXPEDITED | State.PRIVATE_EXPEDITED_READY, Cmd.REGISTER_PRIVATE_EXPEDITED),
    (State.PRIVATE_EXPEDITED_SYNC_CORE | State.PRIVATE_EXPEDITED_SYNC_CORE_READY,
     Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE),
    (State.PRIVATE_EXPEDITED_RSEQ | State.PRIVATE_EXPEDITED_RSEQ_READY, Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ),
)

# Pairs (READY bit, its non-READY partner): READY implies the partner is set.
READY_PARTNERS: tuple[tuple[State, State], ...] = (
    (State.PRIVATE_EXPEDITED_READY, State.PRIVATE_EXPEDITED),
    (State.GLOBAL_EXPEDITED_READY, State.GLOBAL_EXPEDITED),
    (State.PRIVATE_EXPEDITED_SYNC_CORE_READY, State.PRIVATE_EXPEDITED_SYNC_CORE),
    (State.PRIVATE_EXPEDITED_RSEQ_READY, State.PRIVATE_EXPEDITED_RSEQ),
)

EXPEDITED_COMMANDS = frozenset({
    Cmd.GLOBAL_EXPEDITED, Cmd.PRIVATE_EXPEDITED, Cmd.PRIVATE_EXPEDITED_SYNC_CORE, Cmd.PRIVATE_EXPEDITED_RSEQ,
})
REGISTER_COMMANDS = frozenset({
    Cmd.REGISTER_GLOBAL_EXPEDITED, Cmd.REGISTER_PRIVATE_EXPEDITED,
    Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ,
})


def cmd_name(cmd: int) -> str:
    """``PRIVATE_EXPEDITED`` for a known command value, else the number."""
    try:
        c = Cmd(cmd)
        if c.name is not None and "|" not in c.name:
            return c.name
    except ValueError:
        pass
    return str(cmd)


def ret_name(ret: int) -> str:
    """``-EPERM`` for a negative errno return, else the number in hex."""
    if ret < 0:
        return "-" + ERRNO_NAMES.get(-ret, str(-ret))
    return hex(ret) if ret > 9 else str(ret)


def c_int(value: int) -> int:
    """Wrap a Python int to a C ``int`` (32-bit two's complement), as the syscall ABI does."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def c_uint(value: int) -> int:
    """Wrap a Python int to a C ``unsigned int``."""
    return value & 0xFFFFFFFF
