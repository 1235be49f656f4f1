"""The README's benchmark sections: each lives between a start and an end marker that a benchmark rewrites."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def replace_section(start: str, end: str, text: str, path: Path = README) -> None:
    """Put ``text`` (which begins with ``start`` and ends with ``end``) in place of that section, or append it."""
    body = path.read_text()
    if start in body:
        body = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: text, body, flags=re.S)
    else:
        body = body.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(body)


def publish(start: str, end: str, text: str, write: bool, paths: tuple[Path, ...] = (README,)) -> int:
    """Print a benchmark's section and, with ``write``, put it in the README (or ``paths``); the exit status."""
    print(text)
    if write:
        for path in paths:
            replace_section(start, end, text, path)
    return 0
