"""Running the presets and rendering everything ``diagrams/`` holds, the MANIFEST, staleness, writing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import attrs

from .. import files
from ..check.projection import PresetRun
from ..model.presets import COLUMNS, PRESETS, short_source
from ..model.properties import VIOLATED
from .graphviz import DiagramError, digest, dot_path, dot_version, render
from .lifecycle import lifecycle_dot, lifecycle_policies
from .matrix import verdict_markdown, verdict_matrix_dot
from .states import state_graph_dot
from .swimlanes import swimlane_dot


def swimlane_name(preset_name: str, prop: str) -> str:
    return f"swimlane-{preset_name}-{prop}"


def states_name(preset_name: str, scenario: str) -> str:
    return f"states-{preset_name}-{scenario}"


def lifecycle_name(fork_policy: str, alloc_policy: str) -> str:
    return f"lifecycle-{fork_policy}-{alloc_policy}"


# The diagrams the README shows (also rendered as PNG).
README_PICTURES = ("lifecycle-inherit-gfp_kernel_enomem", "swimlane-ppc-2017-Ordering", "swimlane-mainline-Ordering",
                   "verdicts")


def swimlane_title(preset_name: str, prop: str) -> tuple[str, str]:
    """(title, subtitle) of a preset's swimlane: the preset and property, then where the preset comes from."""
    return f"{preset_name}: {prop} violated", short_source(PRESETS[preset_name].source)


@attrs.frozen
class Diagram:
    """A diagram to render: its file stem, its dot source, and whether a PNG is wanted too."""

    stem: str
    source: str
    png: bool = False


def build_diagrams(runs: dict[str, PresetRun], *, engine: str = "explorer",
                   counterexamples: dict[str, dict[str, list[dict]]] | None = None,
                   verdict_table: dict[str, dict[str, str]] | None = None, matrix: bool = True) -> list[Diagram]:
    """Every diagram's dot source, in a fixed order.

    The verdict matrix links ✗ cells to ``swimlane-*.svg`` beside it.
    ``counterexamples`` / ``verdict_table`` replace the explorer's (the TLC
    engine); the state graphs always come from the explorer.  ``matrix``
    False leaves out the verdict matrix (a run over some presets only).
    """
    cex = counterexamples if counterexamples is not None else \
        {n: r.result.counterexamples for n, r in runs.items()}
    table = verdict_table if verdict_table is not None else {n: r.result.properties for n, r in runs.items()}
    out: list[Diagram] = []
    for fork, alloc in lifecycle_policies():
        stem = lifecycle_name(fork, alloc)
        out.append(Diagram(stem, lifecycle_dot(fork, alloc), stem in README_PICTURES))
    for name in runs:
        config = PRESETS[name].config
        for prop in COLUMNS:
            trace = cex.get(name, {}).get(prop)
            if trace and table.get(name, {}).get(prop) == VIOLATED:
                stem = swimlane_name(name, prop)
                title, subtitle = swimlane_title(name, prop)
                out.append(Diagram(stem, swimlane_dot(trace, prop, title=title, subtitle=subtitle, config=config),
                                   stem in README_PICTURES))
    for name, run in runs.items():
        for proj in run.projections:
            out.append(Diagram(states_name(name, proj.scenario),
                               state_graph_dot(proj, run.result.counterexamples)))
    if matrix:
        out.append(Diagram("verdicts", verdict_matrix_dot(table, cell_linker("files", table, cex), engine), True))
    return out


def cell_linker(style: str, table: dict[str, dict[str, str]], drawn: dict[str, dict[str, list]] | None = None
                ) -> Callable[[str, str], str | None]:
    """Where a matrix cell links: its swimlane (a file beside, or an anchor in the report), if drawn.

    ``style``: "files" (``swimlane-*.svg`` beside the table), "anchors" (``#swimlane-*`` and the preset's
    ``#preset-*`` inside the HTML report) or "markdown" (files, and the preset's heading ``#NAME`` in the
    Markdown report).
    """
    def link(name: str, prop: str) -> str | None:
        if not prop:
            return {"anchors": f"#preset-{name}", "markdown": f"#{name}"}.get(style)
        if drawn is not None and not drawn.get(name, {}).get(prop):
            return None
        stem = swimlane_name(name, prop)
        return f"#{stem}" if style == "anchors" else f"{stem}.svg"
    return link


def renderer_fingerprint() -> str:
    """The graphviz build and the fonts it resolves: byte-identical output needs both to match."""
    fonts = []
    fc = shutil.which("fc-match")
    for family in ("Helvetica", "Courier New", "sans-serif"):
        if fc:
            proc = subprocess.run([fc, "-f", "%{file}", family], capture_output=True, text=True)
            fonts.append(os.path.basename(proc.stdout.strip()) or "?")
        else:
            fonts.append("?")
    return f"{dot_version()}; fonts {', '.join(fonts)}"


MANIFEST = "MANIFEST"


def render_diagrams(diagrams: list[Diagram], jobs: int | None = None, svg_only: bool = False
                    ) -> dict[str, bytes]:
    """Render every diagram (SVG, plus PNG where wanted): file name -> bytes."""
    import concurrent.futures as cf
    work = [(d, "svg") for d in diagrams] + ([] if svg_only else [(d, "png") for d in diagrams if d.png])
    with cf.ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as pool:
        outputs = list(pool.map(lambda item: render(item[0].source, item[1]), work))
    return {f"{d.stem}.{fmt}": data for (d, fmt), data in zip(work, outputs)}


@attrs.frozen
class Rendered:
    """Rendered diagrams: the files to write, the hash of each file's source, and the renderer."""

    files: dict[str, bytes]
    sources: dict[str, str]
    renderer: str


def manifest_text(sources: dict[str, str], renderer: str) -> str:
    lines = ["# membarrier-spec diagrams: the sha256 of each file's graphviz source (of the file itself for",
             "# the Markdown), and the renderer that drew them. Regenerate with: membarrier-spec diagrams",
             f"renderer: {renderer}"]
    lines += [f"{h}  {name}" for name, h in sorted(sources.items())]
    return "\n".join(lines) + "\n"


def parse_manifest(text: str) -> tuple[str | None, dict[str, str]]:
    renderer, sources = None, {}
    for line in text.splitlines():
        if line.startswith("renderer: "):
            renderer = line[len("renderer: "):]
        elif line and not line.startswith("#") and "  " in line:
            h, name = line.split("  ", 1)
            sources[name] = h
    return renderer, sources


def writable_dir(path: Path) -> Path:
    """Create ``path`` if needed; a one-line DiagramError when it cannot be written."""
    try:
        return files.writable_dir(path)
    except files.OutputError as exc:
        raise DiagramError(str(exc)) from None


def write_files(out: Path, rendered: dict[str, bytes], prune_prefixes: tuple[str, ...] = ()) -> None:
    """Write ``rendered`` into ``out`` as a set (only what changed), removing stale files with the given
    prefixes; the MANIFEST, which describes the set, is renamed into place last."""
    ordered = {n: d for n, d in rendered.items() if n != MANIFEST}
    if MANIFEST in rendered:
        ordered[MANIFEST] = rendered[MANIFEST]
    stale = [old.name for old in sorted(Path(out).iterdir()) if old.name not in rendered
             and old.name.startswith(prune_prefixes) and old.suffix in (".svg", ".png")] if prune_prefixes else []
    try:
        files.write_set(Path(out), ordered, stale)
    except files.OutputError as exc:
        raise DiagramError(str(exc)) from None


DIAGRAM_PREFIXES = ("lifecycle-", "swimlane-", "states-", "verdicts")


def diagram_files(runs: dict[str, PresetRun], jobs: int | None = None, complete: bool = True) -> Rendered:
    """What ``diagrams/`` holds: SVGs, README PNGs, and (for a run over every preset) the verdict
    matrix, the Markdown verdict table and the MANIFEST."""
    dot_path()
    diagrams = build_diagrams(runs, matrix=complete)
    files = render_diagrams(diagrams, jobs)
    sources = {}
    for d in diagrams:
        for ext in ("svg", "png"):
            if f"{d.stem}.{ext}" in files:
                sources[f"{d.stem}.{ext}"] = digest(d.source)
    renderer = renderer_fingerprint()
    if complete:
        table = {n: r.result.properties for n, r in runs.items()}
        files["verdicts.md"] = verdict_markdown(table, cell_linker("files", table)).encode("utf-8")
        sources["verdicts.md"] = digest(files["verdicts.md"])
        files[MANIFEST] = manifest_text(sources, renderer).encode("utf-8")
    return Rendered(files, sources, renderer)


def stale_files(directory: Path, fresh: Rendered) -> tuple[list[str], list[str], str | None]:
    """Compare freshly rendered diagrams with a directory (the committed ``diagrams/``).

    Returns (stale, extra, note).  ``stale``: files that are missing, whose
    graphviz source differs from the one the committed MANIFEST records, or
    (when this machine's renderer is the one that drew them) whose bytes
    differ.  ``extra``: diagram files nobody generates any more (full runs
    only).  ``note``: why rendered bytes were not compared, if they were not.
    """
    directory = Path(directory)
    manifest = directory / MANIFEST
    renderer, recorded = parse_manifest(manifest.read_text()) if manifest.exists() else (None, {})
    if not manifest.exists():  # a subset was rendered here (no MANIFEST): only the bytes can be compared
        renderer, recorded = fresh.renderer, dict(fresh.sources)
    same = renderer == fresh.renderer
    stale = []
    for name, data in sorted(fresh.files.items()):
        path = directory / name
        if not path.exists():
            stale.append(name)
        elif name == MANIFEST:
            if same and path.read_bytes() != data:
                stale.append(name)
        elif name in fresh.sources and recorded.get(name) != fresh.sources[name]:
            stale.append(name)
        elif same and path.read_bytes() != data:
            stale.append(name)
    extra = []
    if MANIFEST in fresh.files and directory.is_dir():
        extra = sorted(p.name for p in directory.iterdir()
                       if p.name.startswith(DIAGRAM_PREFIXES) and p.name not in fresh.files)
    note = None if same else (f"rendered bytes not compared: {directory}/{MANIFEST} records the renderer "
                              f"'{renderer or 'unknown'}', this machine has '{fresh.renderer}'; the graphviz "
                              f"sources were compared")
    return stale, extra, note
