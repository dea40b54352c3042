"""The hook profile of a run: what ``hookpipe run --profile`` measures and writes.

Plain data, no torch: the runtime fills it (:mod:`hookpipe.runtime.tracking.profiler`),
``hookpipe render --profile`` reads it back to colour the graph. One row per Plan
entry, in Plan order, including entries that never fired (their ``calls`` are 0),
so the table always names every entry of the plan. Times are host wall-clock
times (``time.perf_counter_ns``): on a GPU they include what a hook waits for,
not kernels it merely launched (see docs/profile.md).

``share`` is an entry's total time over the training loop's wall time; for a hook
that runs every step that is also its share of each step. The JSON format is
described by ``docs/profile.schema.json`` (version 1).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["EntryTime", "Profile", "ProfileError", "format_duration", "read_profile"]

VERSION = 1


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and the problem."""


@dataclass
class EntryTime:
    """One Plan entry's measured time."""

    scope: str
    phase: str
    hook: str
    callback: str
    file: str
    line: int
    calls: int = 0
    total_s: float = 0.0

    @property
    def mean_us(self) -> float | None:
        return self.total_s / self.calls * 1e6 if self.calls else None


@dataclass
class Profile:
    """A run's hook times and the loop they are a share of."""

    source: str
    plan_hash: str
    steps: int
    epochs: int
    wall_s: float
    entries: list[EntryTime] = field(default_factory=list)

    @property
    def hooks_s(self) -> float:
        return sum(e.total_s for e in self.entries)

    def share(self, seconds: float) -> float:
        return seconds / self.wall_s if self.wall_s > 0 else 0.0

    def by_hook(self) -> list[tuple[str, int, float]]:
        """``(hook, calls, total seconds)`` per hook, slowest first (ties: plan order)."""
        totals: dict[str, list[float]] = {}
        for e in self.entries:
            row = totals.setdefault(e.hook, [0, 0.0])
            row[0] += e.calls
            row[1] += e.total_s
        order = {hook: i for i, hook in enumerate(totals)}
        return sorted(((h, int(c), t) for h, (c, t) in totals.items()), key=lambda r: (-r[2], order[r[0]]))

    def to_json(self) -> str:
        entries = []
        for e in self.entries:
            row = asdict(e)
            row["mean_us"] = e.mean_us
            row["share"] = self.share(e.total_s)
            entries.append(row)
        data = {
            "version": VERSION,
            "tool": "hookpipe",
            "source": self.source,
            "plan_hash": self.plan_hash,
            "steps": self.steps,
            "epochs": self.epochs,
            "wall_s": self.wall_s,
            "hooks_s": self.hooks_s,
            "entries": entries,
            "hooks": [{"hook": h, "calls": c, "total_s": t, "share": self.share(t)} for h, c, t in self.by_hook()],
        }
        return json.dumps(data, indent=2) + "\n"

    def table(self) -> str:
        """The summary table, one row per plan entry, like Lightning's ``SimpleProfiler``."""
        head = ("entry", "fired", "mean", "total", "share")
        rows = [
            (
                f"{e.scope}.{e.phase}  {e.hook}.{e.callback}",
                str(e.calls),
                format_duration(e.mean_us / 1e6) if e.mean_us is not None else "-",
                format_duration(e.total_s),
                f"{100 * self.share(e.total_s):.2f}%",
            )
            for e in self.entries
        ]
        rest = max(0.0, self.wall_s - self.hooks_s)
        rows.append(("(outside hooks: forward, backward, data)", "", "", format_duration(rest),
                     f"{100 * self.share(rest):.2f}%"))
        per_step = format_duration(self.wall_s / max(1, self.steps)) + "/step"
        rows.append(("training loop", f"{self.steps} steps", per_step, format_duration(self.wall_s), "100.00%"))
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

        def line(r: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

        rule = "-" * len(line(head))
        out = [f"hook profile ({self.steps} steps, {self.epochs} epochs)", line(head), rule]
        out += [line(r) for r in rows[:-2]] + [rule] + [line(r) for r in rows[-2:]]
        hooks = self.by_hook()
        if hooks:
            out += ["", "per hook: " + ", ".join(
                f"{h} {format_duration(t)} ({100 * self.share(t):.1f}%)" for h, _, t in hooks)]
        return "\n".join(out) + "\n"


def format_duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def read_profile(path: str) -> Profile:
    """Load a profile written by ``hookpipe run --profile``; a bad file raises :class:`ProfileError`."""
    from hookpipe.fileaccess import Refused, display_name, read_json

    try:
        data = read_json(path)
    except Refused as exc:
        raise ProfileError(f"{display_name(path)}: the file {exc.reason}") from None
    if not isinstance(data, dict) or data.get("tool") != "hookpipe" or data.get("version") != VERSION:
        raise ProfileError(
            f"{path}: not a hookpipe profile (version {VERSION}); write one with `hookpipe run --profile`")
    try:
        return Profile(
            source=str(data["source"]),
            plan_hash=str(data["plan_hash"]),
            steps=int(data["steps"]),
            epochs=int(data["epochs"]),
            wall_s=float(data["wall_s"]),
            entries=[_entry(e) for e in data["entries"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{path}: malformed profile ({type(exc).__name__}: {exc})") from None


def _entry(data: Any) -> EntryTime:
    return EntryTime(
        scope=str(data["scope"]), phase=str(data["phase"]), hook=str(data["hook"]), callback=str(data["callback"]),
        file=str(data["file"]), line=int(data["line"]), calls=int(data["calls"]), total_s=float(data["total_s"]),
    )
