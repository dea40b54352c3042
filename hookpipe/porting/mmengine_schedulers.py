"""One MMEngine iteration-based scheduler as torch's scheduler of the same name, stepped once per iteration.

MMEngine's schedulers (``mmengine.optim.scheduler.param_scheduler``) take ``begin``
and ``end`` where torch's take ``total_iters``, and they count differently:

- ``LinearLR``, ``ConstantLR`` (and ``PolyLR``) set ``total_iters = end - begin - 1``:
  ``LinearLR(end=5)`` gives 0.1, 0.325, 0.55, 0.775, 1.0 over iterations 0-4, where
  torch's ``LinearLR(total_iters=5)`` reaches 1.0 one step later. So ``end = E``
  is written ``total_iters = E - 1``.
- A scheduler does nothing before ``begin`` (the lr stays the optimizer's) and
  counts its own steps from there; after ``end`` it keeps its last value. torch's
  schedulers start at the first step and have no end, so ``begin`` is exact only
  where the schedule can be shifted (``MultiStepLR``'s milestones) and ``end``
  only where the last value is what torch's keeps anyway (the ramps) or what a
  shorter schedule gives (``MultiStepLR``'s milestones past the end dropped).
- MMEngine's ``Runner`` gives a scheduler without ``end`` the loop's
  ``max_iters`` (``max_epochs`` for ``by_epoch``); ``CosineAnnealingLR`` without
  ``T_max`` takes ``end - begin``.

``iteration_form`` returns torch's form where it gives every iteration MMEngine's
value exactly, with an empty note; a form with a note (written, marked) where one
torch scheduler cannot begin later; None where no torch scheduler is written (the
caller's factory path). ``tests/test_import_accumulation.py`` restates MMEngine's
values per iteration and compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: MMEngine's schedulers that are torch's under the same name, with the arguments MMEngine's take
#: (besides begin/end/by_epoch): MMEngine's ``LinearLR`` has no ``total_iters``, for one.
TORCH_SCHEDULERS: dict[str, frozenset[str]] = {
    "StepLR": frozenset({"step_size", "gamma"}), "MultiStepLR": frozenset({"milestones", "gamma"}),
    "ExponentialLR": frozenset({"gamma"}), "CosineAnnealingLR": frozenset({"T_max", "eta_min"}),
    "LinearLR": frozenset({"start_factor", "end_factor"}), "ConstantLR": frozenset({"factor"}),
}
#: A scheduler's keys that say when it runs, not what it computes.
SCHEDULER_ONLY = frozenset({"by_epoch", "begin", "end", "convert_to_iter_based", "verbose", "_scope_"})
_RAMPS = ("LinearLR", "ConstantLR")


@dataclass(frozen=True)
class TorchForm:
    """``torch.optim.lr_scheduler.KIND(**args)``; ``note`` says what differs from MMEngine's ("" when exact).

    ``ramp_end`` is the ``end`` of the equivalent MMEngine scheduler that begins at
    0 (``LinearLR``/``ConstantLR``), which the per-update conversion counts from.
    """

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    ramp_end: int | None = None


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def iteration_form(kind: str, args: dict[str, Any], begin: Any, end: Any, default_end: int | None) -> TorchForm | None:
    """torch's scheduler giving each iteration the lr MMEngine's ``kind`` gives it; None when there is none to write.

    ``args`` are the scheduler's own arguments; ``end`` is None when the config has
    none, and ``default_end`` is what MMEngine's Runner gives it then (the loop's
    ``max_iters``; None when not known before the run).
    """
    if kind not in TORCH_SCHEDULERS or not set(args) <= TORCH_SCHEDULERS[kind]:
        return None
    begin = 0 if begin is None else begin
    if not _int(begin) or begin < 0 or not (end is None or _int(end) and end > begin):
        return None  # MMEngine refuses end <= begin (ValueError)
    if kind in _RAMPS:
        return _ramp(kind, args, begin, default_end if end is None else end)
    if kind == "MultiStepLR":
        return _milestones(args, begin, end)
    if begin or end is not None:
        return None  # it would start late or stop early: the factory
    if kind == "CosineAnnealingLR" and "T_max" not in args:
        if not _int(default_end):
            return None
        args = {**args, "T_max": default_end}  # MMEngine's T_max = end - begin
    return TorchForm(kind, dict(args))


def _ramp(kind: str, args: dict[str, Any], begin: int, end: Any) -> TorchForm | None:
    """``LinearLR``/``ConstantLR``: MMEngine's last step is ``end - 1``, ``end - begin - 1`` steps after its first."""
    if not _int(end) or end <= begin:
        return None
    steps = end - begin - 1
    written = {**args, "total_iters": steps}
    if not begin:
        return TorchForm(kind, written, ramp_end=end)
    does = "ramps to end_factor by" if kind == "LinearLR" else "applies factor until"
    return TorchForm(kind, written, note=(
        f"MMEngine's {kind} begins at iteration {begin} (the optimizer's lr before) and {does} iteration {end - 1}; "
        f"torch's starts at once: write a factory holding the lr {begin} iterations first"))


def _milestones(args: dict[str, Any], begin: int, end: int | None) -> TorchForm | None:
    """``MultiStepLR``: a milestone ``m`` applies at iteration ``begin + m`` if that is before ``end``."""
    milestones = args.get("milestones")
    if not begin and end is None:
        return TorchForm("MultiStepLR", dict(args))
    if not isinstance(milestones, (list, tuple)) or not all(_int(m) and m >= 0 for m in milestones):
        return None
    last = None if end is None else end - begin - 1  # MMEngine's last step of its own
    shifted = [begin + m for m in milestones if last is None or m <= last]
    return TorchForm("MultiStepLR", {**args, "milestones": shifted})


def epoch_scheduler_note(kinds: list[str]) -> str:
    """The mark of ``by_epoch`` schedulers in an ``IterBasedTrainLoop``: MMEngine steps them once, at the end.

    Its ``ParamSchedulerHook`` steps a ``by_epoch`` scheduler in ``after_train_epoch``,
    which an ``IterBasedTrainLoop`` calls once, after the last iteration; the Runner
    gives it ``end = max_epochs``, 1 there. So the lr keeps the value the scheduler
    sets when it is built, all run.
    """
    return (f"by_epoch is true (MMEngine's default) for {', '.join(kinds)} in an IterBasedTrainLoop: MMEngine steps "
            "it once, after the run, so the lr keeps its first value all run; set by_epoch=False in the config if "
            "it should step every iteration")
