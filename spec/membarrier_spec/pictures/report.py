"""The design-review report: ``membarrier-spec report [--out DIR] [--engine explorer|tlc]``.

Writes ``DIR/report.md`` (the diagrams beside it as SVG files) and
``DIR/report.html`` (self-contained: every SVG inlined).  For each preset:
its source (the mail thread it cites, by subject), the question it settles,
its configuration, its verdicts, the notes, the counterexample swimlanes and
the projected state graphs.  The output is deterministic: no dates, no
timings, no absolute paths.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import attrs

from .. import __version__
from ..check import results as results_store
from ..check import tlc_presets
from ..check.projection import HIDDEN, PROJECTION, PresetRun
from ..check.replay import explorer_trace
from ..check.verdicts import MARK, SHORT
from ..model.config import Config
from ..model.presets import ALWAYS_CHECKED, CANDIDATE_FIXES, COLUMNS, PRESETS, preset, short_source
from ..model.properties import BY_NAME, NOT_CHECKED, VIOLATED
from ..model.render import trace_lines
from .graphviz import dot_path, render
from .lifecycle import POLICY_TITLES, lifecycle_policies
from .matrix import verdict_markdown, verdict_matrix_dot
from .output import (DIAGRAM_PREFIXES, build_diagrams, cell_linker, lifecycle_name, render_diagrams, states_name,
                     swimlane_name, writable_dir, write_files)

# The mail threads the historical presets cite (docs/sources.md): the words a preset's source line starts
# with, then subject, author, date.
THREADS = {
    "McKenney, membarrier BoF notes 2017": ("Rough notes from sys_membarrier() lightning BoF",
                                            "Paul E. McKenney", "2017-09-17"),
    "Desnoyers, Lutomirski, sync-core RFC 2017": (
        "Re: [RFC PATCH for 4.15 5/6] membarrier: x86: Provide core serializing command",
        "Mathieu Desnoyers", "2017-11-09"),
    "Desnoyers, sys_membarrier RFC v12 2015": (
        "[RFC PATCH] sys_membarrier(): system/process-wide memory barrier (x86) (v12)",
        "Mathieu Desnoyers", "2015-03-15"),
    "Lutomirski, lazy-mm thread 2021": ("Re: [PATCH 4/8] membarrier: Make the post-switch-mm barrier explicit",
                                        "Andy Lutomirski", "2021-06-17"),
    "Deacon, Desnoyers, racy-load thread 2019": (
        "Re: [RFC PATCH 4/4] Fix: sched/membarrier: p->mm->membarrier_state racy load (v2)",
        "Will Deacon", "2019-09-12"),
}


@attrs.frozen
class EngineResult:
    """What an engine says about one preset: verdicts, counterexamples (explorer shape), size, notes."""

    properties: dict[str, str]
    counterexamples: dict[str, list[dict]]
    distinct_states: int | None = None
    transitions: int | None = None
    depth: int | None = None
    notes: tuple[str, ...] = ()


def thread_of(source: str) -> dict | None:
    """The mail thread a preset's source line cites, if any (docs/sources.md)."""
    for cite, (subject, author, date) in THREADS.items():
        if source.startswith(cite):
            return {"subject": subject, "author": author, "date": date}
    return None


def config_changes(config: Config) -> list[str]:
    """``field=value`` for every Config field that differs from mainline x86's default."""
    base = Config()
    out = []
    for a in attrs.fields(Config):
        value, default = getattr(config, a.name), getattr(base, a.name)
        if value != default:
            shown = ",".join(value) if isinstance(value, tuple) else str(value).lower() \
                if isinstance(value, bool) else value
            out.append(f"{a.name}={shown}")
    return out


def tlc_result(name: str) -> EngineResult:
    """TLC's verdicts on a preset (``membarrier_spec.check.tlc_presets.check_preset``), its counterexamples replayed into
    the explorer's shape (:func:`membarrier_spec.check.replay.explorer_trace`) so that they are drawn the same way."""
    got = tlc_presets.check_preset(name)
    drawn = {prop: explorer_trace(name, trace) for prop, trace in got.counterexamples.items()}
    notes = list(got.notes)
    if not got.finished:
        notes.insert(0, f"TLC did not finish ({got.status}): {got.message}")
    return EngineResult(dict(got.properties), drawn, got.distinct_states, got.transitions, got.depth, tuple(notes))


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def _svg_inline(svg: bytes, prefix: str) -> str:
    """An SVG ready to inline in HTML: no XML prolog, ids made unique with ``prefix``."""
    text = svg.decode("utf-8")
    text = text[text.index("<svg"):]
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r'(xlink:href|href)="#(?!swimlane-|preset-)([^"]+)"',
                  lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', text)
    return text


def build_context(runs: dict[str, PresetRun], engine: str,
                  engine_results: dict[str, EngineResult]) -> dict:
    presets = []
    total_states = 0
    for name, run in runs.items():
        p = PRESETS[name]
        er = engine_results[name]
        verdicts = []
        for prop in list(COLUMNS) + list(ALWAYS_CHECKED):
            got = er.properties.get(prop, NOT_CHECKED)
            if got == NOT_CHECKED:
                continue
            want = p.expected.get(prop, NOT_CHECKED)
            verdicts.append({"name": prop, "mark": MARK[got], "verdict": got, "expected": want,
                             "agrees": got == want, "doc": BY_NAME[prop].doc if prop in BY_NAME else "",
                             "swimlane": swimlane_name(name, prop)
                             if got == VIOLATED and er.counterexamples.get(prop) else None})
        counterexamples = [{"prop": v["name"], "stem": v["swimlane"],
                            "steps": len(er.counterexamples[v["name"]]) - 1,
                            "trace": trace_lines(er.counterexamples[v["name"]])}
                           for v in verdicts if v["swimlane"] and v["name"] in COLUMNS]
        states = er.distinct_states if er.distinct_states is not None else run.result.distinct_states
        total_states += states or 0
        presets.append({
            "name": name, "anchor": f"preset-{name}", "source": p.source, "thread": thread_of(p.source),
            "question": p.question, "notes": p.notes, "engine_notes": list(er.notes),
            "config": config_changes(p.config),
            "scenarios": list(p.config.scenarios),
            "states": states, "transitions": er.transitions if er.transitions is not None
            else run.result.transitions,
            "depth": er.depth if er.depth is not None else run.result.depth,
            "verdicts": verdicts, "counterexamples": counterexamples,
            "graphs": [{"stem": states_name(name, proj.scenario), "scenario": proj.scenario,
                        "nodes": len(proj.nodes), "states": proj.states} for proj in run.projections],
        })
    table = {n: er.properties for n, er in engine_results.items()}
    mismatches = {n: [c for c in COLUMNS if PRESETS[n].expected.get(c, NOT_CHECKED)
                      != table[n].get(c, NOT_CHECKED)] for n in table}
    lifecycles = [{"stem": lifecycle_name(f, a), "fork": f, "alloc": a,
                   "title": f"{POLICY_TITLES[f]} · {POLICY_TITLES[a]}"}
                  for f, a in lifecycle_policies()]
    return {
        "version": __version__, "engine": engine,
        "engine_title": {"explorer": "the explorer (breadth-first search of the Python model)",
                         "tlc": "TLC (the generated TLA+ spec)"}[engine],
        "presets": presets, "columns": [{"name": c, "short": SHORT[c]} for c in COLUMNS],
        "total_states": total_states,
        "mismatches": {n: m for n, m in mismatches.items() if m},
        "lifecycles": lifecycles,
        "projection": PROJECTION, "hidden": HIDDEN,
        "table_md": verdict_markdown(
            table, cell_linker("markdown", table, {n: er.counterexamples for n, er in engine_results.items()})),
        "table_rows": _table_rows(table, engine_results),
        "finding": _finding(engine_results),
    }


# The candidate fixes of the lazy return, compared in the report's "Finding" section.


def _finding(engine_results: dict[str, EngineResult]) -> dict | None:
    """The lazy-return section: mainline's Ordering and RqStateCovers as this engine found them, and each fix's."""
    if "mainline" not in engine_results:
        return None
    def row(name: str) -> dict:
        props = engine_results[name].properties
        return {"name": name, "source": PRESETS[name].source, "ordering": MARK[props.get("Ordering", NOT_CHECKED)],
                "covers": MARK[props.get("RqStateCovers", NOT_CHECKED)],
                "swimlane": swimlane_name(name, "Ordering") if props.get("Ordering") == VIOLATED else None}
    return {"mainline": row("mainline"), "fixes": [row(n) for n in CANDIDATE_FIXES if n in engine_results],
            "notes": PRESETS["mainline"].notes.split(". ")[0] + "."}


def _table_rows(table: dict[str, dict[str, str]], results: dict[str, EngineResult]) -> list[dict]:
    rows = []
    for name, props in table.items():
        p = PRESETS[name]
        cells = []
        for c in COLUMNS:
            got, want = props.get(c, NOT_CHECKED), p.expected.get(c, NOT_CHECKED)
            cells.append({"mark": MARK[got], "verdict": got, "agrees": got == want,
                          "expected_mark": MARK[want] or "blank",
                          "href": f"#{swimlane_name(name, c)}"
                          if got == VIOLATED and results[name].counterexamples.get(c) else None})
        rows.append({"name": name, "source": short_source(p.source), "cells": cells})
    return rows


def _environment():
    import jinja2
    env = jinja2.Environment(loader=jinja2.PackageLoader("membarrier_spec.pictures", "templates"),
                             autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                                                 default_for_string=False),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["md"] = _md_escape
    return env


def render_report(runs: dict[str, PresetRun], engine: str, engine_results: dict[str, EngineResult],
                  svgs: dict[str, bytes], matrix_anchors_svg: bytes) -> tuple[str, str]:
    """(Markdown, HTML) of the report; ``svgs`` maps file names to the rendered SVGs."""
    import markupsafe
    context = build_context(runs, engine, engine_results)
    env = _environment()
    md = env.get_template("report.md.j2").render(**context)
    inline = {name[:-4]: markupsafe.Markup(_svg_inline(data, name[:-4]))
              for name, data in svgs.items() if name.endswith(".svg")}
    inline["verdicts"] = markupsafe.Markup(_svg_inline(matrix_anchors_svg, "verdicts"))
    page = env.get_template("report.html.j2").render(svg=inline, **context)
    return md, page


def write_report(out: str | Path = "report", *, engine: str = "explorer", jobs: int | None = None,
                 progress: Callable[[str], None] | None = None, names: list[str] | None = None,
                 fresh: bool = False) -> dict[str, str]:
    """Explore (and run TLC with ``engine="tlc"``), render, and write the report into ``out``."""
    dot_path()
    for name in names or ():
        preset(name)  # an unknown preset: one line, before any work
    target = writable_dir(Path(out))
    names = list(names or PRESETS)
    runs = results_store.explore_presets(names, jobs, progress, store=results_store.ResultStore(), fresh=fresh)
    if engine != "tlc":
        results = {n: EngineResult(r.result.properties, r.result.counterexamples, r.result.distinct_states,
                                   r.result.transitions, r.result.depth) for n, r in runs.items()}
    else:
        results = {}
        for i, n in enumerate(names, 1):
            if progress:
                progress(f"[{i}/{len(names)}] TLC: checking {n} ...")
            results[n] = tlc_result(n)
    cex = {n: r.counterexamples for n, r in results.items()}
    table = {n: r.properties for n, r in results.items()}
    engine_label = "explorer" if engine == "explorer" else "TLC"
    plans = build_diagrams(runs, engine=engine_label, counterexamples=cex, verdict_table=table)
    anchors = verdict_matrix_dot(table, cell_linker("anchors", table, cex), engine_label)
    files = render_diagrams(plans, jobs, svg_only=True)
    matrix_anchors = render(anchors, "svg")
    md, page = render_report(runs, engine, results, files, matrix_anchors)
    files["report.md"] = md.encode("utf-8")
    files["report.html"] = page.encode("utf-8")
    write_files(target, files, DIAGRAM_PREFIXES)
    return {"md": str(target / "report.md"), "html": str(target / "report.html")}

