"""Experiment trackers: ``trainer { log_with = [...]  log_dir = "..." }`` through accelerate.

accelerate's tracking API does the writing (``Accelerator(log_with=...,
project_dir=...)``, ``init_trackers``, ``accelerator.log``); hookpipe adds a CSV
tracker (:class:`CSVTracker`, an accelerate ``GeneralTracker``) and checks, before
the run starts, that each named tracker's package is installed: accelerate itself
drops an unavailable tracker with a log line, and a run that was meant to be
watched would log nowhere.

Everything lands in ``log_dir`` itself: accelerate writes a tracker's files to
``project_dir/<project name>``, so ``project_dir`` is ``log_dir``'s parent and the
project name its last component.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any

from accelerate.tracking import GeneralTracker

from hookpipe.compiler.settings import TrainerSettings, tracker_problem
from hookpipe.fileio import write_atomic
from hookpipe.runtime.errors import PlanResolveError

__all__ = ["CSVTracker", "csv_trackers", "finish_trackers", "start_trackers", "tracker_arguments"]

CSV_NAME = "metrics.csv"


class CSVTracker(GeneralTracker):
    """One CSV row per ``accelerator.log`` call: ``step`` then every key logged so far.

    Each call appends its row to the file (a 5,000-row file costs what a 100-row
    one does). The file is rewritten whole, atomically (:func:`hookpipe.fileio.write_atomic`),
    only when the header changes (a key that first appears late gets a column
    without breaking earlier rows), on the first row, and after :meth:`resume_at`
    cut rows. :meth:`resume_at` says how many rows of an existing file to keep: a
    resumed run keeps those its checkpoint had seen (``log()`` stores the count)
    and logs the rest again; a new run keeps none. A run that does not continue the
    file's run never gets here with it: it logs into a version sub-folder of
    ``log_dir`` (see :mod:`hookpipe.runtime.checkpoints.versions`), so another run's
    rows are never rewritten.
    """

    name = "csv"
    requires_logging_directory = True

    def __init__(self, run_name: str, logging_dir: str | os.PathLike[str]) -> None:
        super().__init__()
        self.run_name = run_name
        self.path = Path(logging_dir) / run_name / CSV_NAME
        self._columns: list[str] = ["step"]
        self._rows: list[dict[str, Any]] = []
        self._fresh = True
        #: Rows the file holds under the current header; None: the file must be written whole.
        self._on_disk: int | None = None

    @property
    def rows(self) -> int:
        """Rows in the file so far."""
        return len(self._rows)

    def resume_at(self, rows: int) -> None:
        """Keep the first ``rows`` rows of the existing file; only before this process's first row."""
        if self._fresh:
            self._fresh = False
            del self._rows[rows:]

    @property
    def tracker(self) -> Path:
        return self.path

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            with self.path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                self._columns = list(reader.fieldnames or ["step"])
                self._rows = [{k: v for k, v in row.items() if v != ""} for row in reader]
            self._on_disk = len(self._rows)

    def store_init_configuration(self, values: dict[str, Any]) -> None:
        """Hyperparameters are not a table row; the Plan's JSON records them."""

    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        self.resume_at(0)  # no one said: a new run, not a continuation
        row: dict[str, Any] = {"step": "" if step is None else step}
        for key, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[key] = value if math.isfinite(value) else str(value)
            elif hasattr(value, "item"):
                row[key] = value.item()
            else:
                continue
            if key not in self._columns:
                self._columns.append(key)
                self._on_disk = None  # a new column: the header changes
        self._rows.append(row)
        if self._on_disk == len(self._rows) - 1:
            self._append(row)
        else:
            self._rewrite()

    def _append(self, row: dict[str, Any]) -> None:
        out = io.StringIO()
        csv.DictWriter(out, fieldnames=self._columns, lineterminator="\n").writerow(row)
        with self.path.open("a", encoding="utf-8", newline="") as fh:
            fh.write(out.getvalue())
        self._on_disk = len(self._rows)

    def _rewrite(self) -> None:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self._columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._rows)
        write_atomic(self.path, out.getvalue())
        self._on_disk = len(self._rows)

    def finish(self) -> None:
        """Every row is on disk after each call; nothing to flush."""


def _split(log_dir: str) -> tuple[str, str]:
    path = Path(log_dir)
    return str(path.parent), path.name or "logs"


def tracker_arguments(settings: TrainerSettings) -> dict[str, Any]:
    """The ``Accelerator`` keywords for the Plan's trackers; a missing package is a user mistake.

    Example:
        >>> tracker_arguments(TrainerSettings(max_step=1, log_with=["csv"], log_dir="runs/x"))  # doctest: +SKIP
        {'log_with': [<CSVTracker>], 'project_dir': 'runs'}
    """
    if not settings.log_with:
        return {}
    for name in settings.log_with:
        problem = tracker_problem(name)
        if problem is not None:
            raise PlanResolveError(f"trainer.log_with: {problem}")
    parent, run = _split(settings.log_dir)
    log_with: list[Any] = [CSVTracker(run, parent) if n == "csv" else n for n in dict.fromkeys(settings.log_with)]
    return {"log_with": log_with, "project_dir": parent}


def csv_trackers(accelerator: Any) -> list[CSVTracker]:
    """The accelerator's CSV trackers (started ones: the main process's)."""
    return [t for t in getattr(accelerator, "trackers", ()) if isinstance(t, CSVTracker)]


def start_trackers(accelerator: Any, settings: TrainerSettings) -> None:
    """Start the trackers (on the main process; accelerate skips the others)."""
    if settings.log_with:
        accelerator.init_trackers(_split(settings.log_dir)[1])


def finish_trackers(accelerator: Any) -> None:
    """Flush and close every tracker; the process group stays (unlike ``end_training``)."""
    for tracker in getattr(accelerator, "trackers", ()):
        tracker.finish()
