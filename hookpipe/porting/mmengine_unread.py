"""What the reader of an MMEngine config left unread, said on the run's length so that none of it goes unsaid.

A config read without executing it (``pyconfig.read_config``) can leave two things
that no translation of a setting names: what no value carries at all (a base
imported in ``with read_base():``, an ``exec``: the reader's ``notes``), and a
setting MMEngine's ``Runner`` reads whose value was not evaluated (``Opaque``)
where the translation reads it only as "missing". The MMEngine translation
(``mmengine.port_mmengine``) calls ``mark_unread`` last, when every other mark of
the port is known, so that only what they do not already name is added.
"""

from __future__ import annotations

from typing import Any, Sequence

from hookpipe.porting.mmengine_keys import RUNNER_KEYS, RUNNER_NOTHING_TO_DO
from hookpipe.porting.model import Bracket, Port
from hookpipe.porting.pyconfig import Opaque


def mark_unread(port: Port, cfg: dict[str, Any], unread: Sequence[str]) -> None:
    """Mark, on the run's length, what the config reader could not read, so that none of it goes unsaid.

    ``unread``: what no value carries (a base imported in ``with read_base():``, an
    ``exec``), whose settings are missing from every other line. And each setting
    MMEngine's ``Runner`` reads whose value was not evaluated (``Opaque``: set by a
    statement or an expression the reader does not run) that no mark of the
    translation names yet: one the translation reads only as "missing" would
    otherwise be written as if the config had not set it.
    """
    said: list[str] = [n for n in (*(s.note for s in port.settings), *(h.note for h in port.hooks)) if n]
    items = [item for phases in (port.phases, *port.validation_phases.values()) for block in phases.values()
             for item in block]
    while items:
        item = items.pop()
        said.append(item.note or "")
        if isinstance(item, Bracket):
            items.extend(item.items)
    unsaid = []
    for key in RUNNER_KEYS:
        value = cfg.get(key)
        if key in RUNNER_NOTHING_TO_DO or not isinstance(value, Opaque):
            continue
        # an expression is cut short as the translation shows it; a statement's mark (its line, quoted short) is not
        long = len(value.source) > 60 and not value.source.startswith("<not evaluated: ")
        shown = value.source[:57] + "..." if long else value.source
        if not any(f"{key} {shown[:40]}" in note for note in said):
            unsaid.append(f"{key} {shown}")
    notes = [*unread, *(["not evaluated, so not translated (write what they set by hand): " + ", ".join(unsaid)]
                        if unsaid else [])]
    if not notes:
        return
    setting = next((s for s in port.settings if s.key in ("max_epoch", "max_step")), None) or port.settings[0]
    setting.note = "; ".join(filter(None, [setting.note, *notes]))
