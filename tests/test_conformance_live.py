"""The model against the live kernel on random operations (Hypothesis shrinks any difference),
and the ``membarrier-spec conformance`` command."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from membarrier_spec import System
from membarrier_spec.abi import REGISTER_COMMANDS
from membarrier_spec.cli.app import main
from membarrier_spec.syscall.conformance import (CPU_IDS, ODD_FLAGS, RSEQ, VALID_CMDS, Op, can_add_process, compare,
                                                 dead_task_ids, threads_with_room)
from membarrier_spec.syscall.kernel import LiveSystem, live_config, live_unavailable_reason

REASON = live_unavailable_reason()
pytestmark = [pytest.mark.live,
              pytest.mark.skipif(REASON is not None, reason=f"live kernel unavailable: {REASON}")]
CONFIG = live_config() if REASON is None else None  # the model runs with the kernel's own knobs

# Shrinks toward valid commands, flags 0 and cpu_id 0.
two_bits = st.lists(st.integers(0, 9), min_size=2, max_size=2, unique=True).map(lambda b: (1 << b[0]) | (1 << b[1]))
CMDS = st.one_of(st.sampled_from(VALID_CMDS), two_bits, st.integers(-(1 << 31), (1 << 32) - 1),
                 st.integers(min_value=-(1 << 40), max_value=-1), st.integers(1 << 32, 1 << 64))
FLAGS = st.one_of(st.just(0), st.sampled_from(ODD_FLAGS), st.integers(0, (1 << 32) - 1))
RSEQ_FLAGS = st.sampled_from([0, 1, 2, 3])
REGISTER_CMDS = sorted(int(c) for c in REGISTER_COMMANDS)
CPUS = st.one_of(st.just(0), st.sampled_from(CPU_IDS), st.integers(-(1 << 31), (1 << 31) - 1))


class ModelVsKernel(RuleBasedStateMachine):
    """Each rule runs one :class:`Op` on both backends; any difference fails at once."""

    def __init__(self):
        super().__init__()
        self.model = System(config=CONFIG)
        self.live = LiveSystem()
        self.steps = []

    def check(self, op: Op) -> None:
        step = compare(self.model, self.live, op)
        self.steps.append(step)
        assert step.ok, "model and kernel differ:\n" + "\n".join(s.line() for s in self.steps)

    def alive(self):
        return self.model.alive_tasks()

    def teardown(self):
        self.live.close()

    @initialize()
    def first_process(self):
        self.check(Op("spawn_process"))

    @precondition(lambda self: can_add_process(self.model))
    @rule()
    def spawn_process(self):
        self.check(Op("spawn_process"))

    @precondition(lambda self: threads_with_room(self.model))
    @rule(data=st.data())
    def clone_thread(self, data):
        self.check(Op("clone_thread", data.draw(st.sampled_from(threads_with_room(self.model)), label="tid")))

    @precondition(lambda self: self.alive() and can_add_process(self.model))
    @rule(data=st.data())
    def fork(self, data):
        self.check(Op("fork", data.draw(st.sampled_from(self.alive()), label="tid")))

    @precondition(lambda self: self.alive())
    @rule(data=st.data())
    def exec(self, data):
        self.check(Op("exec", data.draw(st.sampled_from(self.alive()), label="tid")))

    @precondition(lambda self: self.alive())
    @rule(data=st.data())
    def exit(self, data):
        self.check(Op("exit", data.draw(st.sampled_from(self.alive()), label="tid")))

    # Three membarrier rules, so registrations and valid commands are frequent and odd values still come.
    @precondition(lambda self: self.alive())
    @rule(data=st.data(), cmd=st.sampled_from(REGISTER_CMDS))
    def register(self, data, cmd):
        self.check(Op("membarrier", data.draw(st.sampled_from(self.alive()), label="tid"), cmd))

    @precondition(lambda self: self.alive())
    @rule(data=st.data(), cmd=st.sampled_from(VALID_CMDS), cpu_id=CPUS)
    def membarrier(self, data, cmd, cpu_id):
        tid = data.draw(st.sampled_from(self.alive()), label="tid")
        flags = data.draw(RSEQ_FLAGS if cmd == RSEQ else st.just(0), label="flags")
        self.check(Op("membarrier", tid, cmd, flags, cpu_id))

    @precondition(lambda self: self.alive())
    @rule(data=st.data(), cmd=CMDS, flags=FLAGS, cpu_id=CPUS)
    def odd_membarrier(self, data, cmd, flags, cpu_id):
        self.check(Op("membarrier", data.draw(st.sampled_from(self.alive()), label="tid"), cmd, flags, cpu_id))

    @rule(data=st.data(), kind=st.sampled_from(["membarrier", "clone_thread", "fork", "exec", "exit"]))
    def bad_task_id(self, data, kind):
        self.check(Op(kind, data.draw(st.sampled_from(dead_task_ids(self.model)), label="tid")))


TestModelVsKernel = ModelVsKernel.TestCase
TestModelVsKernel.settings = settings(max_examples=30, stateful_step_count=15, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])


def test_conformance_cli_reports_no_mismatch(capsys):
    assert main(["conformance", "--sequences", "20"]) == 0
    out = capsys.readouterr().out
    assert "compared 20 sequences" in out
    assert ": 0 mismatches" in out


def test_conformance_cli_counts_every_call(capsys):
    assert main(["conformance", "--sequences", "3", "--steps", "5", "--seed", "7"]) == 0
    assert "compared 3 sequences, 15 calls: 0 mismatches" in capsys.readouterr().out
