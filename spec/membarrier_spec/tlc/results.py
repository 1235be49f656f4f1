"""What a TLC run reports while it runs (:class:`TlcProgress`) and when it ends (:class:`TlcResult`)."""

from __future__ import annotations

import re

import attrs

from ..model.properties import VIOLATED
from .values import jsonable


def tlc_int(s: str) -> int:
    """A number as TLC prints it ("1,234,567"; a locale may use dots or spaces)."""
    return int(re.sub(r"[^\d]", "", s) or 0)


_PROGRESS = re.compile(r"Progress\(([\d,.\s]+)\).*?:\s*([\d,.\s]+) states generated(?: \(([\d,.\s]+) s/min\))?, "
                       r"([\d,.\s]+) distinct states found(?: \(([\d,.\s]+) ds/min\))?, "
                       r"([\d,.\s]+) states? left on queue", re.S)
STATS_LINE = re.compile(r"([\d,.\s]+) states generated, ([\d,.\s]+) distinct states found, "
                        r"([\d,.\s]+) states? left on queue")


@attrs.frozen
class TlcProgress:
    """One of TLC's progress reports (message 2200), with rates over the whole run so far."""

    generated: int
    distinct: int
    queue: int
    depth: int
    seconds: float
    generated_per_minute: int | None = None  # TLC's own rate over its last reporting interval

    @property
    def distinct_per_second(self) -> float:
        return self.distinct / self.seconds if self.seconds > 0 else 0.0

    def line(self, label: str = "TLC") -> str:
        rate = (f"{self.generated_per_minute / 60:,.0f} states/s" if self.generated_per_minute
                else f"{self.distinct_per_second:,.0f} distinct/s")
        return (f"{label}: {self.generated:,} generated, {self.distinct:,} distinct, {self.queue:,} on queue, "
                f"depth {self.depth}, {rate}, {self.seconds:.0f}s")


def parse_progress(text: str, seconds: float = 0.0) -> TlcProgress | None:
    m = _PROGRESS.search(text)
    if not m:
        return None
    return TlcProgress(generated=tlc_int(m.group(2)), distinct=tlc_int(m.group(4)), queue=tlc_int(m.group(6)),
                       depth=tlc_int(m.group(1)), seconds=seconds,
                       generated_per_minute=tlc_int(m.group(3)) if m.group(3) else None)


@attrs.frozen
class TlcResult:
    """What TLC found, in the explorer's JSON shape (``"engine": "tlc"``) plus TLC's own numbers.

    ``status``: ``ok`` (the search finished, nothing violated), ``violated`` (stopped at a violation),
    ``timeout``, ``out-of-memory`` or ``error`` (TLC failed while checking; ``message`` says why).  After a
    timeout or out-of-memory the statistics are TLC's last progress report (partial).
    """

    preset: str
    distinct_states: int
    generated_states: int
    depth: int
    seconds: float
    properties: dict[str, str]
    counterexamples: dict[str, list[dict]]
    complete: bool
    status: str
    message: str = ""
    queue: int = 0
    initial_states: int = 0
    workers: str = ""
    tlc_version: str = ""
    exit_code: int | None = None
    assumptions_held: bool = False
    runs: int = 1
    scenarios: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def transitions(self) -> int:
        """TLC counts the initial states among the states generated; what remains are the transitions."""
        return max(self.generated_states - self.initial_states, 0)

    @property
    def violated(self) -> bool:
        return any(v == VIOLATED for v in self.properties.values())

    @property
    def finished(self) -> bool:
        """False when TLC could not finish: timeout, out of memory, crash."""
        return self.status in ("ok", "violated")

    def exit_status(self) -> int:
        """0 every checked property holds, 1 a violation (even if a later run timed out), 3 TLC did not finish."""
        if self.violated:
            return 1
        return 0 if self.finished else 3

    def to_json(self) -> dict:
        return {"preset": self.preset, "engine": "tlc", "distinct_states": self.distinct_states,
                "generated_states": self.generated_states, "transitions": self.transitions,
                "depth": self.depth, "seconds": round(self.seconds, 3), "complete": self.complete,
                "scenarios": list(self.scenarios), "properties": self.properties,
                "counterexamples": jsonable(self.counterexamples), "status": self.status, "message": self.message,
                "queue": self.queue, "workers": self.workers, "tlc_version": self.tlc_version,
                "exit_code": self.exit_code, "runs": self.runs, "notes": list(self.notes)}
