"""The verdict matrix: presets by properties, each ✗ linking to its swimlane (SVG and Markdown)."""

from __future__ import annotations

import re
from typing import Callable

from ..model.presets import COLUMNS, PRESETS, short_source
from ..model.properties import HOLDS, NOT_CHECKED, VIOLATED
from .graphviz import FONT, esc, font, wrap
from .swimlanes import BAD


def _camel_lines(name: str) -> list[str]:
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+", name)
    lines, cur = [], ""
    for p in parts:
        if cur and len(cur + p) > 8:
            lines.append(cur)
            cur = p
        else:
            cur += p
    return lines + [cur]


def verdict_matrix_dot(results: dict[str, dict[str, str]], link: Callable[[str, str], str | None],
                       engine: str = "explorer") -> str:
    """Presets by properties as one table; a ✗ cell links (``link(preset, prop)``) to its swimlane."""
    from ..check.verdicts import MARK, SHORT
    cols = [f'<TD ALIGN="LEFT" VALIGN="BOTTOM" CELLPADDING="4"><B>preset</B><BR ALIGN="LEFT"/>'
            f'{font("source", 9, "#555555")}<BR ALIGN="LEFT"/></TD>']
    for c in COLUMNS:
        head = "<BR/>".join(esc(x) for x in _camel_lines(SHORT[c]))
        cols.append(f'<TD VALIGN="BOTTOM" CELLPADDING="3" TOOLTIP="{esc(c)}">{font(head, 9)}</TD>')
    rows = ["<TR>" + "".join(cols) + "</TR>"]
    mismatched = False
    for name, props in results.items():
        p = PRESETS[name]
        source = "".join(font(esc(x), 8, "#555555") + '<BR ALIGN="LEFT"/>' for x in wrap(short_source(p.source), 40))
        href = link(name, "")
        extra = f' HREF="{esc(href)}" TITLE="{esc(p.question)}"' if href else ""
        cells = [f'<TD ALIGN="LEFT" CELLPADDING="3"{extra}><B>{esc(name)}</B><BR ALIGN="LEFT"/>{source}</TD>']
        for c in COLUMNS:
            got = props.get(c, NOT_CHECKED)
            want = p.expected.get(c, NOT_CHECKED)
            mark = MARK[got]
            fill = {HOLDS: "#e3f2e1", VIOLATED: "#f9d9d5", NOT_CHECKED: "#fafafa"}[got]
            text = font(f"<B>{esc(mark)}</B>", 13, {HOLDS: "#2e7d32", VIOLATED: BAD}[got]) if mark else " "
            if got != want:
                mismatched = True
                fill = "#fff3cd"
                text += "<BR/>" + font(esc(f"≠ {MARK[want] or 'blank'}"), 8, "#7a5a00")
            href = link(name, c) if got == VIOLATED else None
            extra = f' HREF="{esc(href)}" TITLE="{esc(name + ": " + c + " counterexample")}"' if href else ""
            cells.append(f'<TD BGCOLOR="{fill}" WIDTH="58" HEIGHT="28"{extra}>{text}</TD>')
        rows.append("<TR>" + "".join(cells) + "</TR>")
    title = (f'<TR><TD COLSPAN="{len(COLUMNS) + 1}" ALIGN="LEFT" CELLPADDING="4" BORDER="0">'
             f'{font("<B>Verdicts</B>", 15)}{font(esc(f"   {engine}, {len(results)} presets"), 11)}'
             f'<BR ALIGN="LEFT"/>'
             + font(esc("✓ holds    ✗ violated: the cell links to its counterexample    blank: the preset's "
                        "workload does not exercise the property"
                        + ("    ≠: differs from the expected verdict" if mismatched else "")), 9, "#444444")
             + '<BR ALIGN="LEFT"/></TD></TR>')
    table = ('<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" COLOR="#cccccc">' + title
             + "".join(rows) + "</TABLE>")
    return ("digraph verdicts {\n"
            f'  graph [fontname="{FONT}", pad=0.15];\n'
            f'  node [shape=plaintext, fontname="{FONT}", fontsize=10, margin=0];\n'
            f"  matrix [label=<{table}>];\n}}\n")


def verdict_markdown(results: dict[str, dict[str, str]], link: Callable[[str, str], str | None]) -> str:
    """The verdict table in Markdown: preset, source, one column per property; ✗ links to its swimlane."""
    from ..check.verdicts import SHORT, cell
    head = ["preset", "source"] + [SHORT[c] for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, props in results.items():
        p = PRESETS[name]
        row = [f"[{name}]({link(name, '')})" if link(name, "") else name, short_source(p.source)]
        for c in COLUMNS:
            text = cell(p.expected.get(c), props.get(c))
            href = link(name, c) if props.get(c) == VIOLATED else None
            row.append(f"[{text}]({href})" if href and text else text)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"
