"""``System``: the syscall-level façade used by tests and outside harnesses.

>>> from membarrier_spec import System, Cmd
>>> s = System(preset="mainline", online_cpus=2)
>>> t = s.spawn_process()
>>> s.membarrier(t, Cmd.PRIVATE_EXPEDITED)      # not registered yet
-1
>>> s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED), s.membarrier(t, Cmd.PRIVATE_EXPEDITED)
(0, 0)
"""

from __future__ import annotations

from typing import Any

from ..model.config import Config
from ..model.presets import preset_config
from . import sequential


class System:
    """A mutable handle on an immutable :class:`~membarrier_spec.syscall.sequential.Processes` value.

    ``System(preset="mainline", **overrides)`` starts from a named preset's
    Config with keyword overrides of its fields; ``System(config=cfg)`` uses a
    Config directly.  Unknown presets, fields and bad values raise
    :class:`~membarrier_spec.errors.ConfigError`; unknown or exited task ids
    raise :class:`~membarrier_spec.errors.TaskError` (both are ValueErrors
    with a one-line message).
    """

    def __init__(self, preset: str = "mainline", *, config: Config | None = None, **overrides: Any):
        base = config if config is not None else preset_config(preset)
        self.config: Config = base.evolve(**overrides) if overrides else base
        self.state = sequential.Processes()

    def spawn_process(self) -> int:
        """A new single-threaded process; returns its task id."""
        self.state, tid = sequential.spawn_process(self.state)
        return tid

    def clone_thread(self, tid: int) -> int:
        """A new thread sharing ``tid``'s mm; returns its task id."""
        self.state, new = sequential.clone_thread(self.state, tid)
        return new

    def fork(self, tid: int) -> int:
        """A new process forked from ``tid`` (state bits per ``config.fork_policy``); returns its id."""
        self.state, child = sequential.fork(self.state, tid, self.config)
        return child

    def exec(self, tid: int) -> None:
        """``tid``'s process execs a new image: the other threads exit, the new mm is unregistered."""
        self.state = sequential.exec_(self.state, tid)

    def exit(self, tid: int) -> None:
        """Thread ``tid`` exits."""
        self.state = sequential.exit_(self.state, tid)

    def fail_next_allocation(self) -> None:
        """Make the next cpumask allocation fail (consumed by the next call that allocates)."""
        self.state = sequential.attrs.evolve(self.state, fail_next_allocation=True)

    def membarrier(self, tid: int, cmd: int, flags: int = 0, cpu_id: int = 0) -> int:
        """``membarrier(cmd, flags, cpu_id)`` by task ``tid``: >= 0, or -errno as the kernel returns.

        ``cmd``, ``flags`` and ``cpu_id`` accept any Python int and wrap as C
        would (``int``, ``unsigned int``, ``int``): ``cmd=2**32 + 8`` is
        PRIVATE_EXPEDITED, exactly what the real syscall sees.
        """
        self.state, ret = sequential.membarrier(self.state, tid, int(cmd), int(flags), int(cpu_id),
                                                self.config)
        return ret

    def membarrier_state(self, tid: int) -> int:
        """``mm->membarrier_state`` of ``tid``'s mm (kernel-internal, for tests and invariants)."""
        return self.state.mm_of(tid).membarrier_state

    def alive_tasks(self) -> list[int]:
        return [i for i, t in enumerate(self.state.tasks) if t.alive]
