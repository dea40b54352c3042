"""Swapping a new checkpoint into the seed's ``SaveCheckpoint`` folder without taking what else lives there.

RoboOrchard Lab's ``SaveCheckpoint`` calls ``accelerator.save_state(save_root)``
on the folder itself: the files it writes are overwritten, and every other entry
stays. Users rely on that: ``SaveModel`` pointed at the same ``save_root`` keeps its
``model_epoch_E_step_S`` exports there, and people keep notes, configs or a
``README`` beside the weights. hookpipe writes the checkpoint into
``<save_root>.partial`` and swaps the whole folder in, so a kill mid-save never
tears it; a plain swap would also throw those entries away with the previous
checkpoint.

So the swap carries them: an entry of the previous folder is the checkpoint's when
its marker lists it (the first part of a listed path), or, for a folder without a
marker (the seed's own, or hookpipe's before markers), when the new checkpoint has
an entry of that name (the seed would have overwritten it). Every other entry is
renamed into the new folder, after the new folder is in place: every step is a
rename, and a kill at any moment leaves each entry whole in ``save_root`` or in
``<save_root>.old``, which the next save (or the next run's) moves over first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hookpipe.runtime.checkpoints.resume import MARKER, read_marker

__all__ = ["foreign_entries", "swap_in"]


def foreign_entries(previous: Path, new: Path) -> list[Path]:
    """The entries of the checkpoint folder ``previous`` that are not its checkpoint: what the seed leaves in place."""
    marker = read_marker(previous)
    files = marker.get("files") if marker is not None else None
    owned = {MARKER} | ({name.split("/", 1)[0] for name in files} if isinstance(files, dict) else set())
    taken = {p.name for p in new.iterdir()} if new.is_dir() else set()
    return sorted(p for p in previous.iterdir() if p.name not in owned and p.name not in taken)


def _carry(previous: Path, into: Path) -> None:
    """Rename ``previous``'s foreign entries into ``into``, then remove what is left of ``previous``."""
    for entry in foreign_entries(previous, into):
        os.replace(entry, into / entry.name)
    shutil.rmtree(previous)


def swap_in(partial: Path, final: Path, old: Path) -> None:
    """Make the complete checkpoint ``partial`` the folder ``final``, keeping ``final``'s foreign entries.

    ``old`` is where the previous ``final`` lies for the moment of the swap. One
    left by a kill is settled first: after the swap it holds the previous checkpoint
    and entries not yet carried (carried now); before it, the whole previous folder
    (renamed back).
    """
    if old.is_dir() and not old.is_symlink():
        if final.is_dir():
            _carry(old, final)
        else:
            os.replace(old, final)
    elif old.exists() or old.is_symlink():
        old.unlink()
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise NotADirectoryError(f"{final} is not a folder (a file or a link sits there), so no checkpoint can be "
                                 "swapped in: move it away or give the hook another save_root")
    if final.is_dir():
        os.replace(final, old)
        os.replace(partial, final)
        _carry(old, final)
    else:
        os.replace(partial, final)
