"""Graphviz plumbing: fonts, HTML-label escaping, finding ``dot``, rendering a source to SVG or PNG."""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
import textwrap
from typing import Iterable

from ..errors import MembarrierSpecError

FONT = "Helvetica,Arial,sans-serif"
MONO = "Courier New,Courier,monospace"
INSTALL_HINT = "apt-get install graphviz"


class DiagramError(MembarrierSpecError):
    """Rendering cannot proceed (no dot, unwritable output); one line, exit status 2."""


# --------------------------------------------------------------------------------------------------
# graphviz plumbing
# --------------------------------------------------------------------------------------------------

def dot_path() -> str:
    """The ``dot`` executable, or a one-line DiagramError saying how to install it."""
    found = shutil.which("dot")
    if found is None:
        raise DiagramError(f"graphviz's dot was not found on PATH; rendering diagrams needs it ({INSTALL_HINT})")
    return found


def dot_version() -> str:
    """``dot -V``'s line, e.g. ``dot - graphviz version 2.43.0 (0)``."""
    proc = subprocess.run([dot_path(), "-V"], capture_output=True, text=True)
    return (proc.stderr or proc.stdout).strip().splitlines()[0] if (proc.stderr or proc.stdout) else "dot"


def render(source: str, fmt: str) -> bytes:
    """Run ``dot -T<fmt>`` on ``source``; a failure is a one-line DiagramError."""
    try:
        proc = subprocess.run([dot_path(), f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        raise DiagramError(f"dot -T{fmt} took more than 300 s") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiagramError(f"dot -T{fmt} failed: {err[-1] if err else 'exit status ' + str(proc.returncode)}")
    return proc.stdout


def esc(text: object) -> str:
    """Escape text for a graphviz HTML-like label."""
    return html.escape(str(text), quote=True)


def wrap(text: str, width: int) -> list[str]:
    """Wrap at spaces and after an opening parenthesis; an identifier is never cut (it may overflow)."""
    out: list[str] = []
    for para in str(text).split("\n"):
        if len(para) > width and "(" in para and " " not in para.split("(", 1)[0]:
            head, rest = para.split("(", 1)
            if len(head) + 1 + len(rest) > width:
                out.append(head + "(")
                para = "  " + rest
        indent = "  " if para.startswith("  ") else ""
        out += textwrap.wrap(para, width, break_long_words=False, break_on_hyphens=False,
                             initial_indent=indent, subsequent_indent=indent) or [""]
    return out


def font(text: str, size: float | None = None, color: str | None = None, face: str | None = None) -> str:
    attrs_ = "".join(f' {k}="{v}"' for k, v in (("POINT-SIZE", size), ("COLOR", color), ("FACE", face)) if v)
    return f"<FONT{attrs_}>{text}</FONT>" if attrs_ else text


def lines_html(lines: Iterable[str], align: str = "LEFT") -> str:
    """Already escaped lines joined with left-aligned breaks."""
    return f'<BR ALIGN="{align}"/>'.join(lines) + f'<BR ALIGN="{align}"/>'


def bits(value: str) -> str:
    """``A|B`` -> ``A | B`` (readable, and wrappable)."""
    return " | ".join(value.split("|"))


def bit_lines(value: str, width: int) -> list[str]:
    """``A|B|C`` as lines of at most ``width`` characters, continuation lines starting with ``| ``."""
    lines: list[str] = []
    for name in value.split("|"):
        if lines and len(lines[-1]) + 3 + len(name) <= width:
            lines[-1] += " | " + name
        else:
            lines.append(("| " if lines else "") + name)
    return lines


def digest(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()
