"""Diagrams for design reviews, rendered with graphviz's ``dot``.

* :func:`lifecycle_dot`: the registration lifecycle of one mm, from the
  sequential model (:mod:`membarrier_spec.syscall.sequential`), one diagram per fork /
  allocation policy pair.
* :func:`state_graph_dot`: a preset's reachable state graph, projected onto
  each task's program counter, membarrier() step and registers (the projection
  is stated on the diagram), initial and violating states highlighted.
* :func:`swimlane_dot`: a counterexample as a sequence diagram, one lane per
  CPU and one for memory.  It takes exactly the list the explorer reports
  (``[{"action", "args", "state"}]``, states as
  :func:`membarrier_spec.model.render.describe_state` gives them), so a TLC trace
  converted to that shape renders byte for byte the same.
* :func:`verdict_matrix_dot` / :func:`verdict_markdown`: presets by
  properties, each ✗ linking to its swimlane.

:func:`diagram_files` renders everything ``diagrams/`` holds (``membarrier-spec
diagrams`` writes it there); the output is deterministic (same inputs and
graphviz build, same bytes), and ``diagrams/MANIFEST`` records a hash of every
diagram's dot source plus the graphviz build that rendered it, so a stale
directory is detected even on a machine whose graphviz renders slightly
different bytes.
"""

from __future__ import annotations

from .graphviz import dot_path, render
from .lifecycle import POLICY_TITLES, REGIONS, lifecycle_dot, lifecycle_policies, registration_machine
from .matrix import verdict_markdown, verdict_matrix_dot
from .output import (DIAGRAM_PREFIXES, MANIFEST, README_PICTURES, build_diagrams, cell_linker,
                     diagram_files, lifecycle_name, render_diagrams, stale_files, states_name,
                     swimlane_name, writable_dir, write_files)
from .states import state_graph_dot
from .swimlanes import IPI_COLOR, pair_ipis, swimlane_dot

__all__ = [
    "DIAGRAM_PREFIXES", "IPI_COLOR", "MANIFEST", "POLICY_TITLES", "PresetRun",
    "README_PICTURES", "REGIONS", "pair_ipis", "cell_linker", "build_diagrams", "diagram_files",
    "dot_path", "lifecycle_dot", "lifecycle_name", "lifecycle_policies",
    "registration_machine", "render", "render_diagrams", "stale_files",
    "state_graph_dot", "states_name", "swimlane_dot", "swimlane_name", "verdict_markdown",
    "verdict_matrix_dot", "writable_dir", "write_files",
]
