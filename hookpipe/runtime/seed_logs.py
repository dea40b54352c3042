"""RoboOrchard Lab's hooks report through ``logging``; ``hookpipe run`` shows those records.

``MetricTracker``, ``StatsMonitor``, ``LossTracker`` and ``SaveCheckpoint`` say what
they did with ``logger.info`` on their module loggers (``robo_orchard_lab.pipeline
.hooks.*``, the seed's names, kept by hookpipe's copies). A script built on the seed
configures logging itself; ``hookpipe run`` owns its process, and without a handler
Python drops every record below WARNING, so a ported run looked as if those hooks did
nothing. For the run, the seed's logger tree gets one stderr handler at INFO (as
Lightning shows its own ``INFO`` lines), each record escaped as every line
``hookpipe`` prints is. Logging the user's code configured itself is left alone.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

from hookpipe.escaping import escape

__all__ = ["SEED_LOGGER", "show_seed_logs"]

#: The root of the seed hooks' logger names (``robo_orchard_lab.pipeline.hooks.metric`` ...). The trainer's
#: own logger (``...hook_based_trainer``: its begin/finish banners) stays quiet: ``hookpipe run`` says those.
SEED_LOGGER = "robo_orchard_lab.pipeline.hooks"


class _Escaped(logging.Formatter):
    """``name: message``, through the one escaping function (a record may quote a path or a config value).

    The seed separates its fields with tabs: shown as spaces, not as the escaped ``\\t``.
    """

    def format(self, record: logging.LogRecord) -> str:
        return escape(super().format(record).replace("\t", "  ").rstrip())


class _UnlessConfigured(logging.StreamHandler):
    """Writes a record while nobody else handles it; once the run's code configured logging, hands it on.

    Asked at each record, not once: the modules a ``.pipe`` file names are imported
    while the trainer is built, and one of them may call ``logging.basicConfig``. The
    seed's logger does not propagate while this handler is on it (its INFO level would
    otherwise push records past a root configured at WARNING), so a record goes to the
    root's handlers here, and only at or above the level the user's code set there.
    """

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(sys.stderr)
        self.logger = logger
        self.setFormatter(_Escaped("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        root = logging.getLogger()
        if any(h is not self for h in self.logger.handlers):
            return  # the user's handler on this logger has it already
        if root.handlers:
            if record.levelno >= root.getEffectiveLevel():
                root.handle(record)
            return
        super().emit(record)


def show_seed_logs() -> Callable[[], None]:
    """Show the seed hooks' ``INFO`` records on stderr for one run; returns the undo.

    Nothing changes where a handler is already configured, on the seed's logger or the
    root (the user's code decided), or where the seed's logger has a level of its own.
    """
    logger = logging.getLogger(SEED_LOGGER)
    if logger.handlers or logging.getLogger().handlers or logger.level != logging.NOTSET:
        return lambda: None
    handler = _UnlessConfigured(logger)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    propagate, logger.propagate = logger.propagate, False

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = propagate

    return undo
