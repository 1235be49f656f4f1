"""``membarrier-spec diagrams`` and ``membarrier-spec report``: the pictures and the design-review document."""

from __future__ import annotations

import sys
import time

from ..check.explore import stderr_progress
from .options import add_store_options


def register(sub) -> None:
    p = sub.add_parser("diagrams",
                       help="render the lifecycle, state graphs, counterexample swimlanes and verdict matrix "
                            "(SVG, PNG for the README) into a directory")
    p.add_argument("presets", nargs="*", metavar="PRESET",
                   help="only these presets' swimlanes and state graphs (default: everything, with the verdict "
                        "matrix and the MANIFEST)")
    p.add_argument("--out", default="diagrams", metavar="DIR", help="output directory (default: diagrams/)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and list the files when DIR is stale")
    add_store_options(p, "explore presets and run dot")
    p.set_defaults(func=cmd_diagrams)

    p = sub.add_parser("report", help="write the design-review report (Markdown and self-contained HTML)")
    p.add_argument("presets", nargs="*", metavar="PRESET", help="only these presets (default: all)")
    p.add_argument("--out", default="report", metavar="DIR", help="output directory (default: report/)")
    p.add_argument("--engine", choices=("explorer", "tlc"), default="explorer",
                   help="where verdicts and counterexamples come from (default: explorer)")
    add_store_options(p, "explore presets and run dot")
    p.set_defaults(func=cmd_report)


def cmd_diagrams(args) -> int:
    from pathlib import Path

    from .. import pictures
    from ..model.presets import PRESETS, preset
    pictures.dot_path()  # no dot: one line, before any work
    names = args.presets or list(PRESETS)
    for name in names:
        preset(name)  # an unknown preset: one line, before any work
    complete = not args.presets
    out = Path(args.out)
    if not args.check:
        pictures.writable_dir(out)
    progress = None if args.quiet else stderr_progress
    start = time.monotonic()
    from ..check.results import ResultStore, explore_presets
    runs = explore_presets(names, args.jobs, progress, store=ResultStore(), fresh=args.fresh)
    rendered = pictures.diagram_files(runs, args.jobs, complete)
    if args.check:
        stale, extra, note = pictures.stale_files(out, rendered)
        if note and not args.quiet:
            print(f"membarrier-spec: note: {note}", file=sys.stderr)
        for name in stale:
            print(f"stale: {out / name}")
        for name in extra:
            print(f"not generated any more: {out / name}")
        if stale or extra:
            print(f"{out} is stale; regenerate it with: membarrier-spec diagrams --out {out}", file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"{out}: {len(rendered.files)} files up to date", file=sys.stderr)
        return 0
    pictures.write_files(out, rendered.files, pictures.DIAGRAM_PREFIXES if complete else ())
    size = sum(len(b) for b in rendered.files.values())
    print(f"wrote {len(rendered.files)} files ({size / 1e6:.1f} MB) into {out}/ "
          f"in {time.monotonic() - start:.0f}s")
    return 0


def cmd_report(args) -> int:
    from ..pictures.report import write_report
    progress = None if args.quiet else stderr_progress
    written = write_report(args.out, engine=args.engine, jobs=args.jobs, progress=progress,
                           names=args.presets or None, fresh=args.fresh)
    print(f"wrote {written['md']} and {written['html']}")
    return 0
