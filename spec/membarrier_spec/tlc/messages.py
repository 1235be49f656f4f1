"""TLC's ``-tool`` output: messages framed by ``@!@!@STARTMSG code:severity`` lines."""

from __future__ import annotations

import re

import attrs


@attrs.define
class TlcMessage:
    code: int
    severity: int
    text: str = ""
    children: list["TlcMessage"] = attrs.field(factory=list)


_MARK = re.compile(r"@!@!@(?:STARTMSG (\d+):(\d+)|ENDMSG (\d+)) @!@!@")


class ToolOutputParser:
    """Feeds on TLC's ``-tool`` output line by line; returns top-level messages as they complete.

    Text outside any message (SANY's output, Java's own errors) is kept in :attr:`unframed` (capped).
    """

    MAX_UNFRAMED = 5000

    def __init__(self):
        self.stack: list[tuple[TlcMessage, list[str]]] = []
        self.unframed: list[str] = []

    def _text(self, s: str) -> None:
        if not s:
            return
        if self.stack:
            self.stack[-1][1].append(s)
        elif s.strip() and len(self.unframed) < self.MAX_UNFRAMED:
            self.unframed.append(s.rstrip("\n"))

    def feed(self, line: str) -> list[TlcMessage]:
        if not line.endswith("\n"):
            line += "\n"
        done = []
        pos = 0
        for m in _MARK.finditer(line):
            self._text(line[pos:m.start()])
            pos = m.end()
            if m.group(1) is not None:
                self.stack.append((TlcMessage(int(m.group(1)), int(m.group(2))), []))
                if line[pos:] == "\n":  # the marker ends the line: the body starts on the next one
                    pos = len(line)
            elif self.stack:
                self._close_innermost(done)
                if line[pos:] == "\n":
                    pos = len(line)
        self._text(line[pos:])
        return done

    def close(self) -> list[TlcMessage]:
        """Messages left open when TLC died (a kill, a JVM crash), closed as they are."""
        done = []
        while self.stack:
            self._close_innermost(done)
        return done

    def _close_innermost(self, done: list) -> None:
        """End the innermost open message: it becomes a child of its parent, or is done."""
        msg, parts = self.stack.pop()
        msg.text = "".join(parts).strip("\n")
        if self.stack:
            self.stack[-1][0].children.append(msg)
            self.stack[-1][1].append(msg.text + "\n")
        else:
            done.append(msg)


def parse_tool_output(text: str) -> tuple[list[TlcMessage], list[str]]:
    """All top-level messages of a complete ``-tool`` output, and its unframed lines."""
    p = ToolOutputParser()
    out = []
    for line in text.splitlines():
        out.extend(p.feed(line))
    out.extend(p.close())
    return out, p.unframed
