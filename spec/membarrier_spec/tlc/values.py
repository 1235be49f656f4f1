"""TLA+ values as TLC prints them: parsing (into Python values) and printing (for cfg files)."""

from __future__ import annotations

import re


class FrozenDict(dict):
    """A dict that can be hashed: how a record or function is represented inside a set or as a key."""

    __slots__ = ()

    def __hash__(self):  # type: ignore[override]
        return hash(frozenset(self.items()))


def _freeze(v):
    if isinstance(v, dict) and not isinstance(v, FrozenDict):
        return FrozenDict({k: _freeze(x) for k, x in v.items()})
    if isinstance(v, tuple):
        return tuple(_freeze(x) for x in v)
    return v


_VALUE_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+)
  | (?P<op><<|>>|\|->|:>|@@|\.\.|/\\|[\[\]{}(),=])
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
""", re.X | re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", '"': '"', "\\": "\\"}


class TlaValueError(ValueError):
    """Text that is not a TLA+ value as TLC prints it."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _VALUE_TOKEN.match(text, pos)
        if m is None:
            raise TlaValueError(f"unexpected {text[pos:pos + 20]!r} at offset {pos} in {text[:80]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group()))
    return out


class _ValueParser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            want = f"{value!r}" if value else "a value"
            got = repr(tok[1]) if tok else "the end"
            raise TlaValueError(f"expected {want}, got {got} in {self.text[:120]!r}")
        self.i += 1
        return tok

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] == value and tok[0] == "op"

    def value(self):
        v = self.atom()
        if self.at(".."):
            self.take("..")
            hi = self.atom()
            if not isinstance(v, int) or not isinstance(hi, int) or isinstance(v, bool) or isinstance(hi, bool):
                raise TlaValueError(f"interval bounds must be integers in {self.text[:120]!r}")
            return frozenset(range(v, hi + 1))
        return v

    def _list(self, close: str) -> list:
        items = []
        if self.at(close):
            self.take(close)
            return items
        while True:
            items.append(self.value())
            if self.at(","):
                self.take(",")
                continue
            self.take(close)
            return items

    def atom(self):
        kind, tok = self.take()
        if kind == "num":
            return int(tok)
        if kind == "str":
            return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), tok[1:-1], flags=re.S)
        if kind == "id":
            if tok == "TRUE":
                return True
            if tok == "FALSE":
                return False
            return tok  # a model value
        if tok == "<<":
            return tuple(self._list(">>"))
        if tok == "{":
            return frozenset(_freeze(x) for x in self._list("}"))
        if tok == "[":
            rec = {}
            if self.at("]"):
                self.take("]")
                return rec
            while True:
                k, name = self.take()
                if k not in ("id", "str"):
                    raise TlaValueError(f"expected a record field name, got {name!r} in {self.text[:120]!r}")
                if k == "str":
                    name = name[1:-1]
                self.take("|->")
                rec[name] = self.value()
                if self.at(","):
                    self.take(",")
                    continue
                self.take("]")
                return rec
        if tok == "(":
            first = self.value()
            if not self.at(":>"):
                self.take(")")
                return first
            fn = {}
            key = first
            while True:
                self.take(":>")
                fn[_freeze(key)] = self.value()
                if self.at("@@"):
                    self.take("@@")
                    key = self.value()
                    continue
                self.take(")")
                return fn
        raise TlaValueError(f"unexpected {tok!r} in {self.text[:120]!r}")

    def done(self) -> bool:
        return self.i >= len(self.toks)


def parse_tla_value(text: str):
    """A TLA+ value as TLC prints it -> Python.

    integers -> int, strings -> str, TRUE/FALSE -> bool, ``<<a, b>>`` -> tuple, ``[a |-> 1]`` -> dict
    (str keys), ``{..}`` and ``m..n`` -> frozenset, ``(k1 :> v1 @@ k2 :> v2)`` -> dict, model values -> str.
    Inside a set or as a function key a record/function is a :class:`FrozenDict` (a hashable dict) and a
    tuple holding one is frozen the same way.  Raises :class:`TlaValueError` on anything else.
    """
    p = _ValueParser(text)
    v = p.value()
    if not p.done():
        raise TlaValueError(f"trailing text after a value: {text[:120]!r}")
    return v


def format_tla_value(v) -> str:
    """Python -> TLA+ text, the inverse of :func:`parse_tla_value` (model values come back as strings)."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
    if isinstance(v, tuple):
        return "<<" + ", ".join(format_tla_value(x) for x in v) + ">>"
    if isinstance(v, (frozenset, set)):
        return "{" + ", ".join(sorted(format_tla_value(x) for x in v)) + "}"
    if isinstance(v, dict):
        if v and all(isinstance(k, str) and re.fullmatch(r"[A-Za-z_]\w*", k) for k in v):
            return "[" + ", ".join(f"{k} |-> {format_tla_value(x)}" for k, x in v.items()) + "]"
        if not v:
            return "<<>>"
        return "(" + " @@ ".join(f"{format_tla_value(k)} :> {format_tla_value(x)}" for k, x in v.items()) + ")"
    raise TypeError(f"no TLA+ rendering for {type(v).__name__}")


def jsonable(v):
    """A parsed TLA+ value made JSON-ready: tuples and sets become lists (sets sorted), a function whose
    keys are not all strings keeps its keys as TLA+ text (``{"<<1, 2>>": 0}``)."""
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, (tuple, list)):
        return [jsonable(x) for x in v]
    if isinstance(v, (frozenset, set)):
        return sorted((jsonable(x) for x in v), key=lambda x: (type(x).__name__, repr(x)))
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else format_tla_value(k)): jsonable(x) for k, x in v.items()}
    return str(v)


def parse_tla_state(text: str) -> dict:
    """``/\\ x = 1 /\\ y = <<>>`` (or ``x = 1`` for a one-variable spec) -> ``{"x": 1, "y": ()}``."""
    p = _ValueParser(text)
    state = {}
    while not p.done():
        if p.at("/\\"):
            p.take("/\\")
        kind, name = p.take()
        if kind != "id":
            raise TlaValueError(f"expected a variable name, got {name!r} in {text[:120]!r}")
        p.take("=")
        state[name] = p.value()
    return state
