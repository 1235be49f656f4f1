"""The spec's files: modules to copy, cfg sections, action parameter names, source lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable


def _strip_tla_comments(src: str) -> str:
    out, depth, i = [], 0, 0
    while i < len(src):
        two = src[i:i + 2]
        if two == "(*":
            depth += 1
            i += 2
            continue
        if two == "*)" and depth:
            depth -= 1
            i += 2
            continue
        if depth:
            out.append("\n" if src[i] == "\n" else " ")
            i += 1
            continue
        if two == "\\*":
            j = src.find("\n", i)
            i = len(src) if j == -1 else j
            continue
        if src[i] == '"':
            m = re.compile(r'"(?:[^"\\\n]|\\.)*"').match(src, i)
            if m:
                out.append(m.group())
                i = m.end()
                continue
        out.append(src[i])
        i += 1
    return "".join(out)


def module_dependencies(spec: Path) -> list[Path]:
    """``spec`` and the modules it EXTENDS or INSTANCEs, transitively, that live in its directory."""
    seen: dict[str, Path] = {}
    todo = [spec]
    while todo:
        p = todo.pop()
        if p.stem in seen:
            continue
        seen[p.stem] = p
        try:
            src = _strip_tla_comments(p.read_text(errors="replace"))
        except OSError:
            continue
        names = []
        for m in re.finditer(r"\bEXTENDS\s+((?:[A-Za-z_]\w*\s*,\s*)*[A-Za-z_]\w*)", src):
            names += [n.strip() for n in m.group(1).split(",")]
        names += re.findall(r"\bINSTANCE\s+([A-Za-z_]\w*)", src)
        for n in names:
            q = spec.parent / f"{n}.tla"
            if n not in seen and q.is_file():
                todo.append(q)
    return list(seen.values())


def assumed_names(paths: Iterable[Path]) -> set[str]:
    """The names of the named assumptions (``ASSUME Name == ...`` or ``ASSUME Name``) in these modules."""
    out: set[str] = set()
    for p in paths:
        try:
            src = _strip_tla_comments(p.read_text(errors="replace"))
        except OSError:
            continue
        out.update(re.findall(r"\bASSUME\s+([A-Za-z_]\w*)\b", src))
    return out


def operator_parameters(paths: Iterable[Path]) -> dict[str, list[str]]:
    """``{"Incr": ["p"], ...}``: the formal parameters of every operator defined with parameters."""
    out: dict[str, list[str]] = {}
    for p in paths:
        try:
            src = _strip_tla_comments(p.read_text(errors="replace"))
        except OSError:
            continue
        for m in re.finditer(r"^[ \t]*([A-Za-z_]\w*)[ \t]*\(([^()]*)\)[ \t]*==", src, re.M):
            params = [a.strip() for a in m.group(2).split(",")]
            if all(re.fullmatch(r"[A-Za-z_]\w*", a) for a in params):
                out.setdefault(m.group(1), params)
    return out


_CFG_KEYWORDS = {"CONSTANT", "CONSTANTS", "INIT", "NEXT", "SPECIFICATION", "INVARIANT", "INVARIANTS",
                 "PROPERTY", "PROPERTIES", "CONSTRAINT", "CONSTRAINTS", "ACTION_CONSTRAINT",
                 "ACTION_CONSTRAINTS", "SYMMETRY", "VIEW", "CHECK_DEADLOCK", "POSTCONDITION", "ALIAS"}
_CFG_TOKEN = re.compile(r'\(\*.*?\*\)|\\\*[^\n]*|"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|\S', re.S)
_INV_KWS, _PROP_KWS = {"INVARIANT", "INVARIANTS"}, {"PROPERTY", "PROPERTIES"}


def _cfg_sections(text: str) -> tuple[str, list[tuple[str, int, int, list[str]]]]:
    """(text before the first keyword, [(keyword, start, end, identifiers in its body)])."""
    sections: list[tuple[str, int, int, list[str]]] = []
    for m in _CFG_TOKEN.finditer(text):
        tok = m.group()
        if tok.startswith("(*") or tok.startswith("\\*"):
            continue
        if tok in _CFG_KEYWORDS:
            if sections:
                kw, s, _, ids = sections[-1]
                sections[-1] = (kw, s, m.start(), ids)
            sections.append((tok, m.start(), len(text), []))
        elif sections and re.fullmatch(r"[A-Za-z_]\w*", tok):
            sections[-1][3].append(tok)
    head = text[:sections[0][1]] if sections else text
    return head, sections


def cfg_names(text: str, kind: str) -> list[str]:
    """The names a cfg lists under INVARIANT(S) (``kind="INVARIANT"``) or PROPERTY/PROPERTIES."""
    kws = _INV_KWS if kind.upper().startswith("INVARIANT") else _PROP_KWS
    out: list[str] = []
    for kw, _, _, ids in _cfg_sections(text)[1]:
        if kw in kws:
            out += [n for n in ids if n not in out]
    return out


def rewrite_cfg(text: str, invariants: Iterable[str], properties: Iterable[str]) -> str:
    """``text`` with its INVARIANT(S)/PROPERTY(IES) sections replaced by exactly these names."""
    head, sections = _cfg_sections(text)
    parts = [head]
    for kw, s, e, _ in sections:
        if kw not in _INV_KWS | _PROP_KWS:
            parts.append(text[s:e])
    body = "".join(parts).rstrip() + "\n"
    invariants, properties = list(invariants), list(properties)
    if invariants:
        body += "INVARIANTS\n" + "".join(f"    {n}\n" for n in invariants)
    if properties:
        body += "PROPERTIES\n" + "".join(f"    {n}\n" for n in properties)
    return body


def source_line(spec_dir: Path, module: str, line: int) -> str | None:
    try:
        lines = (spec_dir / f"{module}.tla").read_text(errors="replace").splitlines()
    except OSError:
        return None
    return lines[line - 1] if 0 < line <= len(lines) else None


def quoted_line(line: int, src: str) -> str:
    """A source line to append to an error message: a new line holding ``    LINE | text``."""
    return f"\n    {line:4} | {src.rstrip()}"


def unframed_tail(unframed: list[str], limit: int, default: str) -> str:
    """The last ``limit`` characters of TLC's unframed output, without SANY's progress lines."""
    keep = [ln for ln in unframed if not ln.startswith(("Parsing file", "Semantic processing"))]
    return " ".join(" ".join(keep).split())[-limit:] or default


def sany_error(unframed: list[str], spec: Path) -> str:
    """TLC's parse or semantic error, with the offending source line."""
    text = "\n".join(unframed)
    module, line, col, what = None, None, None, None
    if "***Parse Error***" in text:
        block = text.split("***Parse Error***", 1)[1]
        block = block.split("Residual stack trace", 1)[0].strip()
        what = "parse error: " + " ".join(block.split())
        m = re.search(r"at line (\d+), column (\d+)", block)
        if m:
            line, col = int(m.group(1)), int(m.group(2))
        m = re.search(r"Could not parse module (\w+)", text)
        files = re.findall(r"Parsing file (\S+?)\.tla\b", text)
        module = m.group(1) if m else (Path(files[-1]).name if files else spec.stem)
    elif "Lexical error" in text:
        m = re.search(r"Lexical error at line (\d+), column (\d+)\.\s*(.*)", text)
        files = re.findall(r"Parsing file (\S+?)\.tla\b", text)
        module = Path(files[-1]).name if files else spec.stem
        if m:
            line, col = int(m.group(1)), int(m.group(2))
            what = "lexical error: " + " ".join(m.group(3).split())
        else:
            what = "lexical error"
    elif re.search(r"\*\*\* Errors: \d+", text):
        block = re.split(r"\*\*\* Errors: \d+", text, maxsplit=1)[1]
        m = re.search(r"line (\d+), col (\d+) to line \d+, col \d+ of module (\w+)\s*\n(.*?)(?:\n\s*\n|\Z)",
                      block, re.S)
        if m:
            line, col, module = int(m.group(1)), int(m.group(2)), m.group(3)
            what = "semantic error: " + " ".join(m.group(4).split())
        else:
            what = "semantic error: " + " ".join(block.split())[:300]
    else:
        m = re.search(r"Cannot find source file for module (\w+)[^\n]*", text)
        if m:
            what = m.group(0).strip()
        else:
            what = unframed_tail(unframed, 400, "SANY failed without a message")
    out = f"TLC rejected {spec.name}: {what}"
    if line is not None:
        out += f"\n  at line {line}, column {col} of module {module}"
        src = source_line(spec.parent, module or spec.stem, line)
        if src is not None:
            out += ":" + quoted_line(line, src)
            if col:
                out += "\n         | " + " " * (col - 1) + "^"
    return out
