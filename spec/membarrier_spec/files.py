"""Writing generated files as a set: all of them or none, never half of a new set.

``generate`` (tla/) and ``diagrams``/``report`` write many files that belong
together.  :func:`write_set` stages every changed file beside its target,
then renames them all into place, and deletes what the new set no longer
has last; an interruption or a write error before the renames leaves the old
set untouched, and the staged files are removed on every way out.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

from .errors import MembarrierSpecError


class OutputError(MembarrierSpecError):
    """An output location that cannot be written; ``str()`` names it and says why."""


def unchanged(path: Path, data: str | bytes) -> bool:
    """Whether ``path`` already holds ``data`` (False when it is missing or unreadable)."""
    try:
        if isinstance(data, bytes):
            return path.read_bytes() == data
        return path.read_text(encoding="utf-8") == data
    except (OSError, UnicodeDecodeError):
        return False


def _stage(path: Path, data: str | bytes) -> str:
    """Write ``data`` beside ``path`` in a temporary file with the mode an ordinary write would give; its path."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)  # mkstemp creates the file 0600
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def writable_dir(out: Path) -> Path:
    """``out``, created if need be; an :class:`OutputError` when it is a file or cannot be created or written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"cannot write into {out}: it is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the directory {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {out}: permission denied")
    return out


def write_set(out: Path, files: dict[str, str | bytes], remove: Iterable[str] = ()) -> dict[str, bool]:
    """Write ``files`` (name -> text or bytes) into the directory ``out`` as a set, then delete ``remove``.

    Name -> whether it changed (or was removed).  Files are renamed in the order given, so put the one
    that describes the set (a manifest) last.
    """
    out = writable_dir(out)
    staged: dict[str, str] = {}
    changed = {name: not unchanged(out / name, data) for name, data in files.items()}
    try:
        for name, data in files.items():
            if changed[name]:
                staged[name] = _stage(out / name, data)
        for name, tmp in staged.items():
            os.replace(tmp, out / name)
        for name in remove:
            (out / name).unlink(missing_ok=True)
            changed[name] = True
    except OSError as exc:
        raise OutputError(f"cannot write into {out}: {exc.strerror}") from None
    finally:
        for tmp in staged.values():
            if os.path.exists(tmp):
                os.unlink(tmp)
    return changed
