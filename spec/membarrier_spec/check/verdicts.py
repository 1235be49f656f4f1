"""The verdict table: presets by properties, as docs/design.md describes it (✓ holds, ✗ violated, blank)."""

from __future__ import annotations

from ..model.presets import COLUMNS, PRESETS, short_source
from ..model.properties import NOT_CHECKED, Verdict

SHORT = {"Ordering": "Ordering", "NoStaleCode": "NoStaleCode", "NoUseAfterFree": "NoUseAfterFree",
         "RqStateCovers": "RqStateCovers", "RegistrationReportTruthful": "RegReportTruthful",
         "RegistrationAtomic": "RegAtomic", "NoSpuriousIPI": "NoSpuriousIPI", "NoRqLock": "NoRqLock",
         "BoundedByCpus": "BoundedByCpus", "NoSchedOverheadUnreg": "NoSchedOverheadUnreg",
         "ExpeditedNeverBlocks": "ExpeditedNeverBlocks"}
MARK = {Verdict.HOLDS: "✓", Verdict.VIOLATED: "✗", Verdict.NOT_CHECKED: ""}


def cell(expected: str | None, got: str | None) -> str:
    """``✓``/``✗``/blank, with ``≠`` and what was expected when the checker disagrees with the expected verdict."""
    got = Verdict(got or NOT_CHECKED)
    expected = Verdict(expected or NOT_CHECKED)
    mark = MARK[got]
    if got != expected:
        return f"{mark or '?'} ≠{MARK[expected] or 'blank'}"
    return mark


def mismatches(name: str, properties: dict[str, str]) -> list[str]:
    expected = PRESETS[name].expected
    return [p for p, v in properties.items() if expected.get(p, NOT_CHECKED) != v]


def markdown(results: dict[str, dict[str, str]]) -> str:
    """A Markdown table; ``results`` maps preset name -> property verdicts."""
    head = ["preset", "source"] + [SHORT[c] for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, props in results.items():
        p = PRESETS[name]
        row = [name, short_source(p.source)] + [cell(p.expected.get(c), props.get(c)) for c in COLUMNS]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def text(results: dict[str, dict[str, str]]) -> str:
    """A fixed-width table for the terminal."""
    heads = [SHORT[c] for c in COLUMNS]
    name_w = max(len(n) for n in results) if results else 6
    widths = [max(len(h), 7) for h in heads]
    out = ["preset".ljust(name_w) + "  " + "  ".join(h.ljust(w) for h, w in zip(heads, widths))]
    for name, props in results.items():
        p = PRESETS[name]
        cells = [cell(p.expected.get(c), props.get(c)) for c in COLUMNS]
        out.append(name.ljust(name_w) + "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    return "\n".join(out)
