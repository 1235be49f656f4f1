"""Every row of docs/kernel.md's "The syscall, as observed" table, and the
kernel selftest expectations, run on the model and (marked ``live``) on the real syscall."""

from __future__ import annotations

import pytest

from membarrier_spec import FLAG_CPU, Cmd, Config, System, TaskError
from membarrier_spec.abi import EINVAL, EPERM
from membarrier_spec.syscall.kernel import LiveSystem, live_config, live_unavailable_reason

# The machine docs/kernel.md's syscall table was observed on: 2 CPUs, no nohz_full, x86 sync-core, CONFIG_RSEQ.
KERNEL_MD = Config(online_cpus=2, nohz_full=False, arch_sync_core=True, rseq=True)


def live_skip_reason() -> str | None:
    """Why the live backend cannot reproduce the table here, or None."""
    reason = live_unavailable_reason()
    if reason is not None:
        return reason
    cfg = live_config()
    knobs = {"nohz_full": cfg.nohz_full, "arch_sync_core": cfg.arch_sync_core, "rseq": cfg.rseq}
    expected = {"nohz_full": False, "arch_sync_core": True, "rseq": True}
    if knobs != expected:
        return f"this kernel's knobs {knobs} differ from docs/kernel.md's machine {expected}"
    return None


@pytest.fixture(params=["model", pytest.param("live", marks=pytest.mark.live)])
def sys_(request):
    """A fresh backend: the model on docs/kernel.md's machine, or the live kernel."""
    if request.param == "model":
        yield System(config=KERNEL_MD)
        return
    reason = live_skip_reason()
    if reason is not None:
        pytest.skip(f"live kernel: {reason}")
    with LiveSystem() as live:
        yield live


def registered(sys_, cmd=Cmd.REGISTER_PRIVATE_EXPEDITED) -> int:
    """A fresh process that has registered with ``cmd``."""
    t = sys_.spawn_process()
    assert sys_.membarrier(t, cmd) == 0
    return t


# ----------------------------------------------------------------------------- the "Observed" table


def test_query(sys_):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.QUERY) == 0x3FF


def test_private_expedited_before_registering(sys_):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED) == -EPERM


def test_register_then_private_expedited_then_get_registrations(sys_):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED) == 0
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED) == 0
    assert sys_.membarrier(t, Cmd.GET_REGISTRATIONS) == 0x10


@pytest.mark.parametrize("cmd", [1 << 20, -1], ids=["1<<20", "-1"])
def test_invalid_cmd(sys_, cmd):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, cmd) == -EINVAL


@pytest.mark.parametrize("cmd", [Cmd.QUERY, Cmd.GET_REGISTRATIONS], ids=lambda c: c.name)
def test_flags_on_query_and_get_registrations(sys_, cmd):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, cmd, flags=1) == -EINVAL


@pytest.mark.parametrize("register_first", [False, True], ids=["unregistered", "registered"])
def test_private_expedited_with_flag_cpu(sys_, register_first):
    t = registered(sys_) if register_first else sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED, flags=FLAG_CPU) == -EINVAL


def test_two_command_bits(sys_):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, (1 << 3) | (1 << 4)) == -EINVAL


def test_global_and_unregistered_global_expedited(sys_):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.GLOBAL) == 0
    assert sys_.membarrier(t, Cmd.GLOBAL_EXPEDITED) == 0


def test_sync_core_registration_reports_0x50_but_private_expedited_is_eperm(sys_):
    """The two bold rows: GET_REGISTRATIONS reports REGISTER_PRIVATE_EXPEDITED (0x10), yet the
    command itself is refused, because SYNC_CORE registration sets PRIVATE_EXPEDITED but not
    PRIVATE_EXPEDITED_READY."""
    t = sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0
    assert sys_.membarrier(t, Cmd.GET_REGISTRATIONS) == 0x50
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED) == -EPERM
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED_SYNC_CORE) == 0  # the registered command works


def test_rseq_registration_reports_0x110(sys_):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ) == 0
    assert sys_.membarrier(t, Cmd.GET_REGISTRATIONS) == 0x110


@pytest.mark.parametrize("cpu_id", [9999, 1, -5])
def test_rseq_flag_cpu_any_cpu_id(sys_, cpu_id):
    t = registered(sys_, Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ)
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED_RSEQ, flags=FLAG_CPU, cpu_id=cpu_id) == 0


def test_rseq_unregistered(sys_):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED_RSEQ, flags=FLAG_CPU) == -EPERM
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED_RSEQ, flags=2) == -EINVAL


@pytest.mark.parametrize("register", [Cmd.REGISTER_PRIVATE_EXPEDITED, Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
                                      Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ, Cmd.REGISTER_GLOBAL_EXPEDITED],
                         ids=lambda c: c.name)
def test_fork_inherits_registrations(sys_, register):
    parent = registered(sys_, register)
    mask = sys_.membarrier(parent, Cmd.GET_REGISTRATIONS)
    child = sys_.fork(parent)
    assert sys_.membarrier(child, Cmd.GET_REGISTRATIONS) == mask


def test_fork_inherits_and_the_child_may_use_it(sys_):
    parent = registered(sys_)
    child = sys_.fork(parent)
    assert sys_.membarrier(child, Cmd.GET_REGISTRATIONS) == 0x10
    assert sys_.membarrier(child, Cmd.PRIVATE_EXPEDITED) == 0


def test_exec_in_child_of_registered_process_clears(sys_):
    parent = registered(sys_)
    child = sys_.fork(parent)
    sys_.exec(child)
    assert sys_.membarrier(child, Cmd.GET_REGISTRATIONS) == 0
    assert sys_.membarrier(child, Cmd.PRIVATE_EXPEDITED) == -EPERM
    assert sys_.membarrier(parent, Cmd.PRIVATE_EXPEDITED) == 0  # the parent keeps its own


def test_new_thread_shares_registration(sys_):
    t = registered(sys_)
    thread = sys_.clone_thread(t)
    assert sys_.membarrier(thread, Cmd.GET_REGISTRATIONS) == 0x10
    assert sys_.membarrier(thread, Cmd.PRIVATE_EXPEDITED) == 0


def test_thread_sees_registration_made_after_it_was_created(sys_):
    t = sys_.spawn_process()
    thread = sys_.clone_thread(t)
    assert sys_.membarrier(thread, Cmd.REGISTER_PRIVATE_EXPEDITED) == 0
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED) == 0
    assert sys_.membarrier(t, Cmd.GET_REGISTRATIONS) == 0x10


# ----------------------------------------------------------------------------- selftest expectations


def test_selftest_expectations(sys_):
    """tools/testing/selftests/membarrier, in its order, on one process."""
    t = sys_.spawn_process()
    assert sys_.membarrier(t, -1) == -EINVAL
    assert sys_.membarrier(t, Cmd.QUERY, flags=1) == -EINVAL
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED) == -EPERM
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED_SYNC_CORE) == -EPERM
    assert sys_.membarrier(t, Cmd.GLOBAL) == 0
    issued = 0
    assert sys_.membarrier(t, Cmd.GET_REGISTRATIONS) == issued
    assert sys_.membarrier(t, Cmd.REGISTER_PRIVATE_EXPEDITED) == 0
    issued |= Cmd.REGISTER_PRIVATE_EXPEDITED
    assert sys_.membarrier(t, Cmd.GET_REGISTRATIONS) == issued
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED) == 0
    assert sys_.membarrier(t, Cmd.GLOBAL_EXPEDITED) == 0
    assert sys_.membarrier(t, Cmd.REGISTER_GLOBAL_EXPEDITED) == 0
    issued |= Cmd.REGISTER_GLOBAL_EXPEDITED
    assert sys_.membarrier(t, Cmd.GET_REGISTRATIONS) == issued
    assert sys_.membarrier(t, Cmd.GLOBAL_EXPEDITED) == 0
    for register in (Cmd.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, Cmd.REGISTER_PRIVATE_EXPEDITED_RSEQ):
        assert sys_.membarrier(t, register) == 0
        issued |= register
        assert sys_.membarrier(t, Cmd.GET_REGISTRATIONS) == issued
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED_SYNC_CORE) == 0
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED_RSEQ) == 0


def test_selftest_sync_core_unregistered(sys_):
    t = sys_.spawn_process()
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED_SYNC_CORE) == -EPERM


# ----------------------------------------------------------------------------- the façade's own rules


def test_arguments_wrap_to_c_types(sys_):
    """cmd is an int, flags an unsigned int, cpu_id an int: 2**32 + 8 is PRIVATE_EXPEDITED."""
    t = registered(sys_)
    assert sys_.membarrier(t, (1 << 32) + Cmd.PRIVATE_EXPEDITED) == 0
    assert sys_.membarrier(t, Cmd.QUERY, flags=1 << 32) == 0x3FF
    assert sys_.membarrier(t, Cmd.QUERY, flags=(1 << 32) + 1) == -EINVAL


def test_unknown_and_exited_task_ids_raise_task_error(sys_):
    with pytest.raises(TaskError, match=r"no task has been spawned"):
        sys_.membarrier(0, Cmd.QUERY)
    t = sys_.spawn_process()
    thread = sys_.clone_thread(t)
    with pytest.raises(TaskError, match=r"unknown task id 5 \(known: 0\.\.1\)"):
        sys_.fork(5)
    sys_.exit(thread)
    with pytest.raises(TaskError, match=r"task 1 has exited"):
        sys_.membarrier(thread, Cmd.QUERY)
    assert sys_.alive_tasks() == [t]


def test_exec_ends_the_other_threads(sys_):
    t = sys_.spawn_process()
    other = sys_.clone_thread(t)
    sys_.exec(t)
    assert sys_.alive_tasks() == [t]
    with pytest.raises(TaskError, match="has exited"):
        sys_.membarrier(other, Cmd.QUERY)
    assert sys_.membarrier(t, Cmd.QUERY) == 0x3FF


def test_exec_from_a_non_leader_thread(sys_):
    t = registered(sys_)
    thread = sys_.clone_thread(t)
    sys_.exec(thread)
    assert sys_.alive_tasks() == [thread]
    assert sys_.membarrier(thread, Cmd.GET_REGISTRATIONS) == 0


def test_exit_of_last_thread_ends_the_process_not_its_fork(sys_):
    parent = registered(sys_)
    child = sys_.fork(parent)
    sys_.exit(parent)
    assert sys_.alive_tasks() == [child]
    assert sys_.membarrier(child, Cmd.PRIVATE_EXPEDITED) == 0


def test_fork_from_a_thread_that_then_exits(sys_):
    """The child outlives the thread that forked it (no PDEATHSIG tied to that thread)."""
    t = registered(sys_)
    thread = sys_.clone_thread(t)
    child = sys_.fork(thread)
    sys_.exit(thread)
    assert sys_.membarrier(child, Cmd.GET_REGISTRATIONS) == 0x10
    assert sys_.membarrier(t, Cmd.PRIVATE_EXPEDITED) == 0
