"""The weak memory model: a store buffer and a lagging view per CPU.

Each CPU ``c`` has

* a **store buffer** ``sbuf[c][v]``: at most one pending store per variable
  ``v``.  Pending stores to *different* variables reach memory in any order
  (:func:`drain`, one variable at a time); a second store to a variable whose
  previous store is still pending first pushes that one to memory, so stores
  to one variable stay in order.  A CPU reads its own pending store.
* a **view** ``view[c][v]``: the value this CPU's loads return when it has no
  pending store to ``v``.  The view lags behind memory and catches up one
  variable at a time (:func:`propagate`); it never goes backwards because
  memory only moves forward and propagation copies memory's current value.

A full barrier (:func:`smp_mb`) drains the CPU's buffer and brings its whole
view up to date, as one atomic step.  A compiler barrier (``barrier()``)
orders nothing in hardware and is not an operation here.

Litmus outcomes (tested in ``tests/test_memory_litmus.py``):

* SB (``x=1; r0=y`` || ``y=1; r1=x``): ``r0 == r1 == 0`` is **allowed**
  without barriers (both stores still buffered) and **forbidden** with
  ``smp_mb()`` between each store and load.
* MP (``x=1; y=1`` || ``r2=y; r1=x``): ``r2 == 1, r1 == 0`` is **allowed**
  without barriers (``y`` drains first, or the reader's view of ``x`` lags)
  and **forbidden** with ``smp_mb()`` on both sides.
* Coherence (CoRR): two loads of one variable by one CPU never see a newer
  value and then an older one.

Why both weaknesses: a FIFO (x86-TSO) store buffer alone cannot exhibit
scenario B of kernel/sched/membarrier.c, so a membarrier without its exit
barrier would wrongly pass; the lagging view is what lets a missing barrier
after the IPI return a stale value.  Abstraction: one buffer slot per variable
(a second store pushes the first out) loses interleavings where two stores to
one variable are pending at once; no workload stores twice to a variable
another CPU reads in between.

Memory state is plain tuples so that it hashes fast and maps one to one onto
the TLA+ variables ``mem``, ``sbuf`` and ``view``.
"""

from __future__ import annotations

NONE = -1  # an empty store-buffer slot

Vec = tuple[int, ...]


def replace(vec: tuple, i: int, value) -> tuple:
    """``vec`` with ``vec[i] = value`` (states are tuples; every module edits them through this)."""
    return vec[:i] + (value,) + vec[i + 1:]


def store(mem: Vec, sbuf: Vec, view: Vec, var: int, value: int) -> tuple[Vec, Vec, Vec]:
    """A CPU stores ``value`` to ``var``: into its buffer (an older pending store to ``var`` goes first)."""
    if sbuf[var] != NONE:
        mem = replace(mem, var, sbuf[var])
        view = replace(view, var, sbuf[var])
    return mem, replace(sbuf, var, value), view


def load(sbuf: Vec, view: Vec, var: int) -> int:
    """A CPU loads ``var``: its own pending store, else its view."""
    pending = sbuf[var]
    return pending if pending != NONE else view[var]


def smp_mb(mem: Vec, sbuf: Vec) -> tuple[Vec, Vec, Vec]:
    """A full barrier: drain the whole buffer to memory and bring the view up to date."""
    if any(v != NONE for v in sbuf):
        mem = tuple(b if b != NONE else m for m, b in zip(mem, sbuf))
        sbuf = (NONE,) * len(sbuf)
    return mem, sbuf, mem


def drain(mem: Vec, sbuf: Vec, view: Vec, var: int) -> tuple[Vec, Vec, Vec]:
    """The pending store to ``var`` becomes globally visible (enabled when one is pending)."""
    value = sbuf[var]
    return replace(mem, var, value), replace(sbuf, var, NONE), replace(view, var, value)


def propagate(mem: Vec, view: Vec, var: int) -> Vec:
    """This CPU's view of ``var`` catches up with memory (enabled when they differ)."""
    return replace(view, var, mem[var])
