"""The RNG file of a checkpoint (accelerate's ``random_states_<rank>.pkl``): written portably, restored loudly.

accelerate pickles ``numpy.random.get_state()``, whose key array pickles by the
writing numpy's module path: ``numpy._core...`` under numpy 2, which numpy 1 cannot
import. RoboOrchard Lab pins numpy below 2, and accelerate's loader catches every
failure and logs "Could not load random states" at INFO, so a hookpipe checkpoint
resumed there would silently lose the Python, numpy *and* torch generators (with
dropout the resumed losses differ). :func:`make_portable` rewrites the numpy state
with plain Python values (``numpy.random.set_state`` takes any array-like), which
every numpy version and ``torch.load(weights_only=True)`` read.

On loading, :func:`restore_problem` tries what accelerate will do with the states
and returns why it would fail, so hookpipe can warn naming the file instead of
accelerate's silent INFO line.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import torch

__all__ = ["make_portable", "portable_numpy_state", "random_state_path", "restore_problem"]


def random_state_path(folder: Path, rank: int) -> Path:
    """accelerate's RNG file of process ``rank`` in a ``save_state`` folder."""
    return folder / f"random_states_{rank}.pkl"


def portable_numpy_state(state: Any) -> Any:
    """``numpy.random.get_state()``'s legacy tuple with the key as a list of ints, else ``state`` unchanged."""
    if isinstance(state, tuple) and len(state) == 5 and hasattr(state[1], "tolist"):
        name, key, pos, has_gauss, cached = state
        return (str(name), [int(k) for k in key.tolist()], int(pos), int(has_gauss), float(cached))
    return state


def make_portable(folder: str | os.PathLike[str], rank: int) -> None:
    """Rewrite this process's RNG file so numpy 1 and numpy 2 both restore it (atomically; no-op if absent).

    Only the numpy entry changes, to the same state in plain Python values; the
    other entries (Python's, torch's, the device generators', accelerate's step)
    are kept as accelerate wrote them.
    """
    path = random_state_path(Path(folder), rank)
    if not path.exists():
        return
    from accelerate.utils.other import load  # torch.load(weights_only=True) with numpy's array globals allowed

    states = load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(states, dict) or "numpy_random_seed" not in states:
        return
    portable = portable_numpy_state(states["numpy_random_seed"])
    if portable is states["numpy_random_seed"]:
        return
    states["numpy_random_seed"] = portable
    partial = path.with_name(path.name + ".partial")
    torch.save(states, partial)
    os.replace(partial, path)


def restore_problem(states: dict[str, Any]) -> str | None:
    """Why accelerate could not restore ``states`` here (None: it can).

    Runs the restoring steps accelerate runs for the CPU generators, on a copy of
    the current ones that is put back after, so nothing changes but the answer. For
    CUDA it only checks that the state is there: reading every device's generator
    would create a CUDA context on each GPU in every process.
    """
    import numpy

    saved = (random.getstate(), numpy.random.get_state(), torch.get_rng_state())
    try:
        random.setstate(states["random_state"])
        numpy.random.set_state(states["numpy_random_seed"])
        torch.set_rng_state(states["torch_manual_seed"])
    except KeyError as exc:
        return f"it has no {exc.args[0]!r} entry"
    except Exception as exc:  # noqa: BLE001 - whatever accelerate would catch and log at INFO
        return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
    finally:
        random.setstate(saved[0])
        numpy.random.set_state(saved[1])
        torch.set_rng_state(saved[2])
    if torch.cuda.is_available() and "torch_cuda_manual_seed" not in states:
        return "it holds no CUDA generator state (written without CUDA), and this process has CUDA"
    return None
