"""``membarrier-spec generate``: write the TLA+ spec, the TLC models and the manifest."""

from __future__ import annotations

import sys
from pathlib import Path

from ..tlaplus import generator


def register(sub) -> None:
    p = sub.add_parser("generate",
                       help="write the TLA+ spec and a TLC model (.tla + .cfg) per preset, with manifest.json")
    p.add_argument("presets", nargs="*", metavar="PRESET",
                   help="only these presets' models (default: every preset, and stale models are removed)")
    p.add_argument("--out", default=generator.DEFAULT_OUT, metavar="DIR",
                   help=f"output directory (default: {generator.DEFAULT_OUT})")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if DIR differs from a fresh generation (for CI)")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args) -> int:
    names = args.presets or None  # an unknown preset is a one-line error before anything is written
    out = Path(args.out)
    if args.check:
        stale = generator.stale_files(out, names)
        for name in stale:
            print(f"{out / name}: differs from `{generator.GENERATE_COMMAND}`", file=sys.stderr)
        if stale:
            print(f"{len(stale)} file(s) in {out} are stale; run: {generator.GENERATE_COMMAND}"
                  + (f" --out {args.out}" if args.out != generator.DEFAULT_OUT else ""), file=sys.stderr)
            return 1
        print(f"{out}: up to date")
        return 0
    changed = generator.generate(out, names)
    for name, did in changed.items():
        if did:
            print(f"wrote {out / name}" if (out / name).exists() else f"removed {out / name}")
    written = sum(changed.values())
    print(f"{out}: {written} file(s) written, {len(changed) - written} unchanged")
    return 0
