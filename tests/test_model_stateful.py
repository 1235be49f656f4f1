"""Hypothesis stateful tests of the sequential model (``System``) against docs/kernel.md's syscall table.

The oracle below is written from docs/kernel.md and the membarrier(2) man page,
not from ``membarrier_spec.model.syscalls``: the bit values, the GET_REGISTRATIONS
derivation and the allowed return values are restated here on purpose, so a
mistake in the model cannot be copied into its own test.
"""

from __future__ import annotations

import errno

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from membarrier_spec import Cmd, Config, System

EINVAL, EPERM, ENOMEM, EWOULDBLOCK = errno.EINVAL, errno.EPERM, errno.ENOMEM, errno.EWOULDBLOCK

# --- docs/kernel.md, restated -------------------------------------------------------------------

# mm->membarrier_state bits.
PE_READY, PE, GE_READY, GE = 1 << 0, 1 << 1, 1 << 2, 1 << 3
SC_READY, SC, RS_READY, RS = 1 << 4, 1 << 5, 1 << 6, 1 << 7

# (READY bit, its non-READY partner, the REGISTER command GET_REGISTRATIONS reports for the pair)
PAIRS = (
    (PE_READY, PE, 1 << 4),
    (GE_READY, GE, 1 << 2),
    (SC_READY, SC, 1 << 6),
    (RS_READY, RS, 1 << 8),
)
REGISTER_MASK = (1 << 2) | (1 << 4) | (1 << 6) | (1 << 8)

# REGISTER command -> the READY bit a successful registration must leave set.
REGISTER_READY = {
    Cmd.REGISTER_GLOBAL_EXPEDITED: GE_READY,
    Cmd.REGISTER_PRIVATE_EXPEDITED: PE_READY,
    Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: SC_READY,
    Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ: RS_READY,
}
# Private expedited command -> the READY bit without which it is -EPERM.
PRIVATE_READY = {
    Cmd.PRIVATE_EXPEDITED: PE_READY,
    Cmd.PRIVATE_EXPEDITED_SYNC_CORE: SC_READY,
    Cmd.PRIVATE_EXPEDITED_RSEQ: RS_READY,
}
VALID_CMDS = [0] + [1 << i for i in range(10)]


def derived_registrations(state: int) -> int:
    """GET_REGISTRATIONS per docs/kernel.md: a REGISTER command for each pair with *either* bit set."""
    return sum(reg for ready, partner, reg in PAIRS if state & (ready | partner))


def to_c_int(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def to_c_uint(v: int) -> int:
    return v & 0xFFFFFFFF


def query_mask(cfg: Config) -> int:
    mask = 0x3FF
    if not cfg.arch_sync_core:
        mask &= ~(Cmd.PRIVATE_EXPEDITED_SYNC_CORE | Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)
    if not cfg.rseq:
        mask &= ~(Cmd.PRIVATE_EXPEDITED_RSEQ | Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ)
    if cfg.nohz_full:
        mask &= ~Cmd.GLOBAL
    return int(mask)


def policy_failure(cfg: Config) -> set[int]:
    """The allocation-failure return value of the config's policy (none for the fallback)."""
    return {"gfp_kernel_enomem": {-ENOMEM}, "ewouldblock": {-EWOULDBLOCK},
            "gfp_nowait_fallback": set()}[cfg.alloc_policy]


def allowed_returns(cmd: int, flags: int, cfg: Config, alloc_may_fail: bool) -> set[int] | None:
    """The return values membarrier(2) allows for (C-wrapped) ``cmd``/``flags`` on ``cfg``.

    ``None`` means "any mask of REGISTER commands" (GET_REGISTRATIONS).
    """
    flags_ok = flags == 0 or (cmd == Cmd.PRIVATE_EXPEDITED_RSEQ and flags == 1)
    if not flags_ok or cmd not in VALID_CMDS:
        return {-EINVAL}
    fail = policy_failure(cfg) if alloc_may_fail else set()
    if cmd == Cmd.QUERY:
        return {query_mask(cfg)}
    if cmd == Cmd.GLOBAL:
        return {-EINVAL} if cfg.nohz_full else {0}
    if cmd == Cmd.GET_REGISTRATIONS:
        return None
    if cmd == Cmd.GLOBAL_EXPEDITED:
        return {0} | fail
    if cmd == Cmd.REGISTER_GLOBAL_EXPEDITED:
        return {0} | fail
    unavailable = ((cmd in (Cmd.PRIVATE_EXPEDITED_SYNC_CORE, Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)
                    and not cfg.arch_sync_core)
                   or (cmd in (Cmd.PRIVATE_EXPEDITED_RSEQ, Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ)
                       and not cfg.rseq))
    if unavailable:
        return {-EINVAL}
    if cmd in PRIVATE_READY:
        return {0, -EPERM} | fail
    assert cmd in REGISTER_READY
    return {0} | fail


# --- strategies ----------------------------------------------------------------------------

cmds = st.one_of(
    st.sampled_from(VALID_CMDS),
    st.sampled_from([-1, -8, 1 << 10, 1 << 20, (1 << 3) | (1 << 4), 3, 2**31, 2**32 - 1, 2**32 + 8,
                     2**33 + 16, -(2**32) + 8]),
    st.builds(lambda c, k: c + k * 2**32, st.sampled_from(VALID_CMDS), st.integers(-3, 3)),
    st.integers(-(2**40), 2**40),
)
flag_values = st.one_of(st.sampled_from([0, 1, 2, 3, 2**32, 2**32 + 1, -1]), st.integers(-(2**40), 2**40))
cpu_ids = st.one_of(st.sampled_from([-5, -1, 0, 1, 2, 3, 4, 9999, 2**31, 2**32 + 1]),
                    st.integers(-(2**40), 2**40))
# task choice: an index into the live tasks, so it stays valid as tasks exit
picks = st.integers(min_value=0, max_value=50)


class MembarrierMachine(RuleBasedStateMachine):
    """Random spawn/clone/fork/exec/exit/membarrier sequences; the policies are class attributes."""

    fork_policy = "inherit"
    alloc_policy = "gfp_kernel_enomem"

    @initialize(online_cpus=st.integers(1, 4), nohz_full=st.booleans(), arch_sync_core=st.booleans(),
                rseq=st.booleans())
    def start(self, online_cpus, nohz_full, arch_sync_core, rseq):
        self.cfg = Config(online_cpus=online_cpus, nohz_full=nohz_full, arch_sync_core=arch_sync_core,
                          rseq=rseq, fork_policy=self.fork_policy, alloc_policy=self.alloc_policy)
        self.s = System(config=self.cfg)
        # The test's own books: thread group of each live task (independent of the model's tgid).
        self.group: dict[int, int] = {}
        self.alloc_pending = False
        self.stable_einval: set[int] = set()  # C-int cmds that returned -EINVAL with flags 0
        self._spawn()

    def _spawn(self) -> int:
        tid = self.s.spawn_process()
        self.group[tid] = tid
        return tid

    def _live(self) -> list[int]:
        return sorted(self.group)

    def _pick(self, pick: int) -> int:
        live = self._live()
        return live[pick % len(live)]

    def _mates(self, tid: int) -> list[int]:
        return [t for t, g in self.group.items() if g == self.group[tid]]

    def _get_reg(self, tid: int) -> int:
        return self.s.membarrier(tid, Cmd.GET_REGISTRATIONS)

    # --- rules ---

    @precondition(lambda self: len(self.group) < 12)
    @rule()
    def spawn_process(self):
        tid = self._spawn()
        assert self.s.membarrier_state(tid) == 0
        assert self._get_reg(tid) == 0

    @precondition(lambda self: self.group and len(self.group) < 12)
    @rule(pick=picks)
    def clone_thread(self, pick):
        parent = self._pick(pick)
        before = self.s.membarrier_state(parent)
        child = self.s.clone_thread(parent)
        self.group[child] = self.group[parent]
        assert self.s.membarrier_state(child) == before  # shares the mm, so the registration

    @precondition(lambda self: self.group and len(self.group) < 12)
    @rule(pick=picks)
    def fork(self, pick):
        parent = self._pick(pick)
        before = self.s.membarrier_state(parent)
        child = self.s.fork(parent)
        self.group[child] = child
        expected = before if self.cfg.fork_policy == "inherit" else 0
        assert self.s.membarrier_state(child) == expected
        assert self._get_reg(child) == derived_registrations(expected)
        assert self.s.membarrier_state(parent) == before

    @precondition(lambda self: self.group)
    @rule(pick=picks)
    def exec(self, pick):
        tid = self._pick(pick)
        mates = self._mates(tid)
        self.s.exec(tid)
        for other in mates:  # de_thread(): the other threads of the group exit
            if other != tid:
                del self.group[other]
        self.group[tid] = tid
        assert self.s.membarrier_state(tid) == 0
        assert self._get_reg(tid) == 0
        assert self.s.membarrier(tid, Cmd.PRIVATE_EXPEDITED) == -EPERM

    @precondition(lambda self: self.group)
    @rule(pick=picks)
    def exit(self, pick):
        tid = self._pick(pick)
        self.s.exit(tid)
        del self.group[tid]

    @rule()
    def fail_next_allocation(self):
        self.s.fail_next_allocation()
        self.alloc_pending = True

    @precondition(lambda self: self.group)
    @rule(pick=picks, cmd=cmds, flags=flag_values, cpu_id=cpu_ids)
    def membarrier(self, pick, cmd, flags, cpu_id):
        tid = self._pick(pick)
        c_cmd, c_flags = to_c_int(cmd), to_c_uint(flags)
        states_before = {t: self.s.membarrier_state(t) for t in self._live()}
        before = states_before[tid]
        pending = self.alloc_pending

        ret = self.s.membarrier(tid, cmd, flags, cpu_id)

        after = self.s.membarrier_state(tid)
        self.alloc_pending = self.s.state.fail_next_allocation
        allowed = allowed_returns(c_cmd, c_flags, self.cfg, alloc_may_fail=pending)
        if allowed is None:
            assert ret >= 0 and ret & ~REGISTER_MASK == 0, hex(ret)
        else:
            assert ret in allowed, (hex(c_cmd), c_flags, ret, sorted(allowed))

        failures = {-ENOMEM, -EWOULDBLOCK}
        if ret in failures:
            # only the config's own policy value, only after an injected failure, and it is consumed
            assert ret in policy_failure(self.cfg) and pending and not self.alloc_pending

        # StableEinval: a cmd with flags 0 that returned -EINVAL keeps returning it.
        if c_flags == 0:
            if c_cmd in self.stable_einval:
                assert ret == -EINVAL, (hex(c_cmd), ret)
            if ret == -EINVAL:
                self.stable_einval.add(c_cmd)

        # -EPERM exactly when the command's READY bit is clear (flags valid, command available).
        if c_cmd in PRIVATE_READY and ret in (0, -EPERM):
            assert (ret == -EPERM) == (not before & PRIVATE_READY[c_cmd])

        if c_cmd in REGISTER_READY and allowed != {-EINVAL}:
            ready = REGISTER_READY[c_cmd]
            if ret == 0:
                assert after & ready and self._get_reg(tid) & c_cmd
            else:  # a failed registration never publishes READY
                assert after & ready == before & ready
                if ret == -EWOULDBLOCK:  # allocation happens before any bit is set
                    assert after == before
        else:
            assert after == before, "only a registration changes the state bits"

        # Only the caller's mm may change.
        mates = set(self._mates(tid))
        for t, old in states_before.items():
            if t not in mates:
                assert self.s.membarrier_state(t) == old, f"task {t} changed by a call from {tid}"

    # --- invariants ---

    @invariant()
    def registrations_derived_from_state(self):
        for tid in self._live():
            state = self.s.membarrier_state(tid)
            assert 0 <= state < 1 << 8
            assert self._get_reg(tid) == derived_registrations(state), (tid, hex(state))

    @invariant()
    def ready_implies_partner(self):
        for tid in self._live():
            state = self.s.membarrier_state(tid)
            for ready, partner, _ in PAIRS:
                assert not state & ready or state & partner, (tid, hex(state))

    @invariant()
    def threads_share_registration(self):
        by_group: dict[int, set[tuple[int, int]]] = {}
        for tid in self._live():
            seen = (self.s.membarrier_state(tid), self._get_reg(tid))
            by_group.setdefault(self.group[tid], set()).add(seen)
        for g, seen in by_group.items():
            assert len(seen) == 1, (g, seen)

    @invariant()
    def get_registrations_has_no_side_effect(self):
        for tid in self._live():
            before = self.s.membarrier_state(tid)
            self._get_reg(tid)
            assert self.s.membarrier_state(tid) == before


MACHINE_SETTINGS = settings(max_examples=100, stateful_step_count=30, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("fork_policy", ["inherit", "clear"])
@pytest.mark.parametrize("alloc_policy", ["gfp_kernel_enomem", "gfp_nowait_fallback", "ewouldblock"])
def test_model_state_machine(fork_policy, alloc_policy):
    machine = type(f"Machine_{fork_policy}_{alloc_policy}", (MembarrierMachine,),
                   {"fork_policy": fork_policy, "alloc_policy": alloc_policy})
    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)


# --- examples ------------------------------------------------------------------------------

def two_thread_process(**config) -> tuple[System, int, int]:
    s = System(online_cpus=2, **config)
    t = s.spawn_process()
    return s, t, s.clone_thread(t)


def test_enomem_leaves_non_ready_bit_set():
    s, t, t2 = two_thread_process(alloc_policy="gfp_kernel_enomem")
    s.fail_next_allocation()
    assert s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED) == -ENOMEM
    assert s.membarrier_state(t) == PE  # set before the allocation failed; READY never set
    assert s.membarrier(t2, Cmd.GET_REGISTRATIONS) == 0x10  # reported...
    assert s.membarrier(t2, Cmd.PRIVATE_EXPEDITED) == -EPERM  # ...but not usable
    # the failure was consumed: retrying succeeds
    assert s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED) == 0
    assert s.membarrier_state(t) == PE | PE_READY
    assert s.membarrier(t2, Cmd.PRIVATE_EXPEDITED) == 0


def test_ewouldblock_leaves_state_unchanged():
    s, t, _ = two_thread_process(alloc_policy="ewouldblock")
    s.fail_next_allocation()
    assert s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED) == -EWOULDBLOCK
    assert s.membarrier_state(t) == 0
    assert s.membarrier(t, Cmd.GET_REGISTRATIONS) == 0
    assert s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED) == 0


def test_nowait_fallback_succeeds_despite_failed_allocation():
    s, t, t2 = two_thread_process(alloc_policy="gfp_nowait_fallback")
    s.fail_next_allocation()
    assert s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED) == 0
    assert s.membarrier_state(t) == PE | PE_READY
    assert s.membarrier(t2, Cmd.PRIVATE_EXPEDITED) == 0


def test_single_user_registration_does_not_allocate():
    # one mm user: sync_runqueues_membarrier_state() takes the local path, nothing to fail
    s = System(online_cpus=2)
    t = s.spawn_process()
    s.fail_next_allocation()
    assert s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED) == 0
    s.clone_thread(t)
    assert s.membarrier(t, Cmd.GLOBAL_EXPEDITED) == -ENOMEM  # still pending, consumed here


def test_cmd_wraps_to_c_int():
    s = System()
    t = s.spawn_process()
    assert s.membarrier(t, 2**32 + Cmd.PRIVATE_EXPEDITED) == -EPERM
    assert s.membarrier(t, 2**32 + Cmd.REGISTER_PRIVATE_EXPEDITED) == 0
    assert s.membarrier(t, 2**32 + 8) == s.membarrier(t, 8) == 0
    assert s.membarrier(t, 2**32) == 0x3FF  # QUERY
    assert s.membarrier(t, 2**32 - 1) == -EINVAL  # -1
    assert s.membarrier(t, 2**31 + 8) == -EINVAL  # negative as a C int


def test_flags_wrap_to_c_uint():
    s = System()
    t = s.spawn_process()
    assert s.membarrier(t, Cmd.QUERY, flags=2**32) == 0x3FF  # behaves as flags 0
    assert s.membarrier(t, Cmd.QUERY, flags=2**32 + 1) == -EINVAL
    assert s.membarrier(t, Cmd.PRIVATE_EXPEDITED, flags=-1) == -EINVAL
    assert s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ) == 0
    assert s.membarrier(t, Cmd.PRIVATE_EXPEDITED_RSEQ, flags=2**32 + 1, cpu_id=1) == 0  # FLAG_CPU
    assert s.membarrier(t, Cmd.PRIVATE_EXPEDITED_RSEQ, flags=2**32 + 2) == -EINVAL


@given(cpu_id=cpu_ids)
@settings(max_examples=50, deadline=None)
def test_cpu_id_never_changes_the_answer(cpu_id):
    # docs/kernel.md: out-of-range, offline or foreign cpu_id returns 0 once registered
    s, t, _ = two_thread_process()
    assert s.membarrier(t, Cmd.PRIVATE_EXPEDITED_RSEQ, 1, cpu_id) == -EPERM
    assert s.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ) == 0
    assert s.membarrier(t, Cmd.PRIVATE_EXPEDITED_RSEQ, 1, cpu_id) == 0
    assert s.membarrier(t, Cmd.PRIVATE_EXPEDITED, 0, cpu_id) == -EPERM  # cpu_id ignored without FLAG_CPU


@given(cmd=cmds, flags=flag_values)
@settings(max_examples=200, deadline=None)
def test_oracle_agrees_on_fresh_process(cmd, flags):
    """Single calls on a fresh process: the return is exactly what docs/kernel.md says (no failure)."""
    assume(to_c_int(cmd) not in PRIVATE_READY or to_c_uint(flags) != 0)  # -EPERM/0 covered above
    s = System(online_cpus=2)
    t = s.spawn_process()
    ret = s.membarrier(t, cmd, flags)
    allowed = allowed_returns(to_c_int(cmd), to_c_uint(flags), s.config, alloc_may_fail=False)
    if allowed is None:
        assert ret == 0
    else:
        assert ret in allowed
