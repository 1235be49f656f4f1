"""The concurrency model as a small explicit interface every checker consumes.

``Model(config)`` has :meth:`initial_states`, :meth:`successors` (every
enabled action with the state it leads to) and :attr:`properties`, in the
manner of stateright: the explorer, the Hypothesis machine, the TLA+
generator and the diagrams all go through it.

The actions of one state, per CPU ``c``:

* hardware: ``drain`` a pending store of ``c``'s store buffer, ``propagate``
  one variable into ``c``'s view (:mod:`membarrier_spec.model.memory`);
* the steps of a context switch in progress (:mod:`membarrier_spec.model.scheduler`),
  else: an IPI handler, the next step of the running task's membarrier call
  (:mod:`membarrier_spec.model.membarrier`) or of its program
  (:mod:`membarrier_spec.model.userspace`), and ``__schedule`` to another task.
"""

from __future__ import annotations

from typing import Iterator

from . import memory
from .config import Config
from .membarrier import call_steps, handle_ipis
from .memory import replace
from .properties import PROPERTIES, Property
from .scheduler import schedule, switch_steps
from .state import KState, Setup, Step, evolve, step, var_names
from .userspace import user_step
from .workloads import Workload


class Model:
    """The reachable-state semantics of one Config (a preset with its overrides)."""

    def __init__(self, config: Config, workloads: tuple[Workload, ...] | None = None):
        self.config = config
        self.setup = Setup.from_config(config, workloads)
        self.properties: tuple[Property, ...] = PROPERTIES
        self.var_names = var_names(config.online_cpus)

    def initial_states(self) -> list[KState]:
        return self.setup.initial_states()

    def successors(self, s: KState) -> Iterator[tuple[Step, KState]]:
        setup = self.setup
        for c, cpu in enumerate(s.cpus):
            yield from self._hardware(s, c)
            if cpu.sw is not None:
                yield from switch_steps(setup, s, c)
                continue
            yield from handle_ipis(setup, s, c)
            if s.tasks[cpu.curr].call is not None:
                yield from call_steps(setup, s, c)
            else:
                yield from user_step(setup, s, c)
            yield from schedule(setup, s, c)

    def _hardware(self, s: KState, c: int):
        cpu = s.cpus[c]
        for v, pending in enumerate(cpu.sbuf):
            if pending != memory.NONE:
                mem, sbuf, view = memory.drain(s.mem, cpu.sbuf, cpu.view, v)
                ns = KState(s.scenario, replace(s.cpus, c, _evolve(cpu, sbuf, view)), s.tasks, s.mms, mem, s.ghost)
                yield step("drain", cpu=c, var=self.var_names[v], value=pending), ns
        for v in range(len(s.mem)):
            if cpu.view[v] != s.mem[v]:
                view = memory.propagate(s.mem, cpu.view, v)
                ns = KState(s.scenario, replace(s.cpus, c, _evolve(cpu, cpu.sbuf, view)), s.tasks, s.mms, s.mem,
                            s.ghost)
                yield step("propagate", cpu=c, var=self.var_names[v], value=s.mem[v]), ns

    def describe(self, s: KState) -> dict:
        """A readable rendering of a state (for counterexamples and diagrams)."""
        from .render import describe_state
        return describe_state(self, s)


def _evolve(cpu, sbuf, view):
    return evolve(cpu, sbuf=sbuf, view=view)
