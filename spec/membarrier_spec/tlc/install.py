"""Finding Java and ``tla2tools.jar``, and installing the pinned jar (``membarrier-spec install-tlc``)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from .common import JAR_ENV, MIN_JAVA, PINNED_SHA256, PINNED_URL, SHA256_ENV, URL_ENV, TlcSetupError


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "membarrier-spec"


def cached_jar() -> Path:
    return cache_dir() / "tla2tools.jar"


def check_jar(path: Path) -> Path:
    """``path`` if it is a tla2tools.jar (a zip holding ``tlc2/TLC.class``), else a one-line TlcSetupError."""
    if not path.exists():
        raise TlcSetupError(f"no tla2tools.jar at {path}")
    if not path.is_file():
        raise TlcSetupError(f"{path} is not a file, so not tla2tools.jar")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise TlcSetupError(f"{path} is not tla2tools.jar: not a jar (zip) file ({exc})") from None
    if "tlc2/TLC.class" not in names:
        raise TlcSetupError(f"{path} is a jar but not tla2tools.jar: it has no tlc2/TLC.class")
    return path


def find_jar(jar: str | os.PathLike | None = None) -> Path:
    """The jar to use: ``jar``, ``$TLA2TOOLS_JAR``, then the cache; checked with :func:`check_jar`."""
    if jar:
        return check_jar(Path(jar).expanduser())
    env = os.environ.get(JAR_ENV)
    if env:
        p = Path(env).expanduser()
        if not p.exists():
            raise TlcSetupError(f"${JAR_ENV} names {p}, which does not exist")
        return check_jar(p)
    p = cached_jar()
    if p.exists():
        return check_jar(p)
    raise TlcSetupError(f"no tla2tools.jar found (looked at --jar, ${JAR_ENV} and {p}); "
                        f"run `membarrier-spec install-tlc` or pass --jar PATH")


_java_ok: set[str] = set()


def find_java(java: str | os.PathLike | None = None) -> str:
    """The Java executable: ``java``, ``$JAVA_HOME/bin/java``, then ``java`` on PATH; must be 11 or newer."""
    if java:
        cand = str(Path(java).expanduser())
        if os.sep not in cand and not Path(cand).exists():
            found = shutil.which(cand)
            if found is None:
                raise TlcSetupError(f"no Java: {cand!r} is not on PATH")
            cand = found
        if not Path(cand).exists():
            raise TlcSetupError(f"no Java at {cand}")
        source = "--java"
    elif os.environ.get("JAVA_HOME") and Path(os.environ["JAVA_HOME"], "bin", "java").exists():
        cand, source = str(Path(os.environ["JAVA_HOME"], "bin", "java")), "$JAVA_HOME"
    else:
        found = shutil.which("java")
        if found is None:
            raise TlcSetupError(f"no Java found on PATH: install a Java {MIN_JAVA}+ runtime "
                                f"(e.g. apt-get install default-jre-headless), or pass --java PATH")
        cand, source = found, "PATH"
    if cand in _java_ok:
        return cand
    if not os.access(cand, os.X_OK) or Path(cand).is_dir():
        raise TlcSetupError(f"no Java: {cand} (from {source}) is not an executable")
    try:
        proc = subprocess.run([cand, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise TlcSetupError(f"no Java: {cand} (from {source}) does not run: {exc}") from None
    out = proc.stderr + proc.stdout
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if proc.returncode != 0 or not m:
        first = out.strip().splitlines()[0] if out.strip() else f"exit status {proc.returncode}"
        raise TlcSetupError(f"no Java: `{cand} -version` failed: {first}")
    major = int(m.group(1))
    if major == 1 and m.group(2):  # "1.8.0_292"
        major = int(m.group(2))
    if major < MIN_JAVA:
        raise TlcSetupError(f"{cand} is Java {major}; TLC needs Java {MIN_JAVA} or newer")
    _java_ok.add(cand)
    return cand


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def install_tlc(*, url: str | None = None, sha256: str | None = None, dest: Path | None = None,
                force: bool = False, timeout: float = 120.0, log: Callable[[str], None] | None = None) -> Path:
    """Download the pinned tla2tools.jar into the cache, refusing it unless its SHA-256 matches.

    ``url``/``sha256`` default to ``$MEMBARRIER_SPEC_TLC_URL``/``$MEMBARRIER_SPEC_TLC_SHA256``, then to the
    pinned release.  An existing jar with the expected hash is kept (unless ``force``); otherwise the new
    file is written next to it and renamed over it only once verified, so a failed or refused download
    never damages a working installation.
    """
    url = url or os.environ.get(URL_ENV) or PINNED_URL
    expected = (sha256 or os.environ.get(SHA256_ENV) or PINNED_SHA256).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise TlcSetupError(f"not a SHA-256 (64 hex digits): {expected!r}")
    dest = Path(dest).expanduser() if dest else cached_jar()
    say = log or (lambda s: None)
    if dest.is_dir():
        raise TlcSetupError(f"--dest {dest} is a directory; give the path of the jar file to write")
    if dest.exists() and not dest.is_file():
        raise TlcSetupError(f"--dest {dest} exists and is not a regular file")
    if dest.parent.is_dir() and not os.access(dest.parent, os.W_OK):
        raise TlcSetupError(f"cannot write into {dest.parent}: permission denied")
    if dest.is_file() and not os.access(dest, os.W_OK):
        raise TlcSetupError(f"cannot overwrite {dest}: permission denied")
    if not force and dest.is_file() and sha256_of(dest) == expected:
        say(f"{dest} is already the pinned tla2tools.jar (sha256 {expected})")
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TlcSetupError(f"cannot create {dest.parent}: {exc.strerror or exc}") from None
    fd, tmp_name = tempfile.mkstemp(prefix=".tla2tools-", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        say(f"downloading {url}")
        h = hashlib.sha256()
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "membarrier-spec install-tlc"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                fd = -1
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    h.update(chunk)
                    out.write(chunk)
        except urllib.error.HTTPError as exc:
            raise TlcSetupError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TlcSetupError(f"download of {url} failed: {reason}") from None
        got = h.hexdigest()
        if got != expected:
            raise TlcSetupError(f"refusing {url}: its SHA-256 is {got}, expected {expected}; "
                                f"nothing was installed")
        check_jar(tmp)
        os.replace(tmp, dest)
        say(f"installed {dest} (sha256 {got})")
        return dest
    finally:
        if fd != -1:
            os.close(fd)
        tmp.unlink(missing_ok=True)
