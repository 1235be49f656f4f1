"""The memory model's litmus outcomes (see the docstring of membarrier_spec.model.memory).

A tiny exhaustive checker runs two straight-line programs on two CPUs with
the memory module's store / load / smp_mb / drain / propagate, and collects
every final register outcome.
"""

from membarrier_spec.model import memory

X, Y = 0, 1


def outcomes(prog0, prog1):
    """All final (regs0, regs1) of two programs: ops are ('st', var, val), ('ld', var, reg), ('mb',)."""
    progs = (prog0, prog1)
    init = ((0, 0), ((memory.NONE,) * 2, (memory.NONE,) * 2), ((0, 0), (0, 0)), (0, 0), ((), ()))
    seen, stack, finals = set(), [init], set()
    while stack:
        s = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        mem, sbufs, views, pcs, regs = s
        if all(pcs[c] == len(progs[c]) for c in (0, 1)) and all(b == memory.NONE for sb in sbufs for b in sb):
            finals.add(regs)
        for c in (0, 1):
            sb, vw = sbufs[c], views[c]

            def put(mem2, sb2, vw2, pc_inc=0, reg=None):
                sbs = list(sbufs); vws = list(views); p = list(pcs); r = list(regs)
                sbs[c], vws[c] = sb2, vw2
                p[c] += pc_inc
                if reg is not None:
                    r[c] = r[c] + (reg,)
                stack.append((mem2, tuple(sbs), tuple(vws), tuple(p), tuple(r)))

            for v in (X, Y):
                if sb[v] != memory.NONE:
                    put(*memory.drain(mem, sb, vw, v))
                if vw[v] != mem[v]:
                    put(mem, sb, memory.propagate(mem, vw, v))
            if pcs[c] < len(progs[c]):
                op = progs[c][pcs[c]]
                if op[0] == "st":
                    put(*memory.store(mem, sb, vw, op[1], op[2]), pc_inc=1)
                elif op[0] == "ld":
                    put(mem, sb, vw, pc_inc=1, reg=memory.load(sb, vw, op[1]))
                else:
                    put(*memory.smp_mb(mem, sb), pc_inc=1)
    return finals


def test_sb_without_barriers_allows_both_zero():
    assert ((0,), (0,)) in outcomes([("st", X, 1), ("ld", Y, 0)], [("st", Y, 1), ("ld", X, 0)])


def test_sb_with_smp_mb_forbids_both_zero():
    got = outcomes([("st", X, 1), ("mb",), ("ld", Y, 0)], [("st", Y, 1), ("mb",), ("ld", X, 0)])
    assert ((0,), (0,)) not in got
    assert {((1,), (1,)), ((0,), (1,)), ((1,), (0,))} <= got


def test_mp_without_barriers_allows_flag_without_data():
    got = outcomes([("st", X, 1), ("st", Y, 1)], [("ld", Y, 0), ("ld", X, 0)])
    assert ((), (1, 0)) in got


def test_mp_with_smp_mb_on_both_sides_forbids_flag_without_data():
    got = outcomes([("st", X, 1), ("mb",), ("st", Y, 1)], [("ld", Y, 0), ("mb",), ("ld", X, 0)])
    assert ((), (1, 0)) not in got
    assert ((), (1, 1)) in got


def test_mp_needs_the_reader_barrier_too():
    """A writer-side barrier alone is not enough: the reader's view of x may lag (scenario B)."""
    got = outcomes([("st", X, 1), ("mb",), ("st", Y, 1)], [("ld", Y, 0), ("ld", X, 0)])
    assert ((), (1, 0)) in got


def test_coherence_corr():
    """Two loads of one variable never see the new value and then the old one."""
    got = outcomes([("st", X, 1)], [("ld", X, 0), ("ld", X, 0)])
    assert ((), (1, 0)) not in got
    assert ((), (0, 1)) in got


def test_own_store_is_read_back():
    assert outcomes([("st", X, 1), ("ld", X, 0)], []) == {((1,), ())}
