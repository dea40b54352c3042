"""Resuming with a changed pipeline: what changed, what cannot carry over, what to apply.

Every checkpoint stores the Plan it was written with (``hookpipe-plan.json``).
Before a resumed run builds anything, :func:`examine` compares that Plan with the
one about to run, setting by setting and hook by hook, and decides:

* **refused**: the optimizer's type (its state does not fit another optimizer) and
  ``grad_accumulation`` inside an accumulation window (the saved gradients belong
  to the old window). Model shapes are compared with the saved weights before they
  load (:func:`check_model_fits`). Each refusal names ``--weights-from``, which
  starts a new run from the checkpoint's weights.
* **nothing to do**: the checkpoint ends a run (written at the end of the loop) and
  the limits end there too: the run says so and how to train further.
* **applied**: everything else. Optimizer arguments (``lr``, ``weight_decay``, ...)
  would be silently undone by the restored optimizer state, so :func:`apply` writes
  them into the restored param groups; a changed ``lr`` keeps the scheduler's
  progress (the new lr times the factor the schedule had reached).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookpipe.compiler.plan import Plan
from hookpipe.compiler.run_values import RunSize
from hookpipe.runtime.checkpoints.checkpoint_state import PROGRESS_FILE, validate_state
from hookpipe.runtime.checkpoints.resume import read_marker
from hookpipe.runtime.checkpoints.schedule_rebase import FreshSchedule, rebase
from hookpipe.runtime.errors import PlanResolveError

__all__ = ["FRESH_FROM_WEIGHTS", "PLAN_FILE", "NothingToResume", "ResumeRefused", "ResumeReport", "apply",
           "check_model_fits", "examine", "load_weights", "write_plan"]

PLAN_FILE = "hookpipe-plan.json"
#: How refusals name the way out: ``hookpipe run``'s flag (in Python: :func:`load_weights`).
FRESH_FROM_WEIGHTS = "--weights-from"


class NothingToResume(PlanResolveError):
    """The checkpoint already ends where the limits end."""


class ResumeRefused(PlanResolveError):
    """A change since the checkpoint that cannot be resumed; ``report`` lists every change."""

    def __init__(self, message: str, report: "ResumeReport | None" = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class ResumeReport:
    """What :func:`examine` found; :attr:`lines` is what ``run`` prints."""

    folder: Path
    position: tuple[int, int]  # (global step, epoch) of the next step
    old: Plan | None
    changes: list[str] = field(default_factory=list)
    #: Optimizer arguments whose new values :func:`apply` writes into the restored state.
    optimizer_args: dict[str, Any] = field(default_factory=dict)
    #: What :func:`apply` did.
    applied: list[str] = field(default_factory=list)
    #: The checkpoint's position: (epoch, step in the epoch, steps done, updates done).
    done: tuple[int, int, int, int] = (0, 0, 0, 0)
    #: The ``run.*`` values the checkpointed run had (None: an older checkpoint did not record them).
    old_size: dict[str, Any] | None = None
    #: The ``run.*`` values of the resumed run (set by ``plan_parts``).
    size: RunSize | None = None
    #: The schedule today's settings made, before the checkpoint replaced it (set by ``plan_parts``).
    fresh_schedule: FreshSchedule | None = None
    #: (the lr the checkpoint's optimizer held, the lr the next update uses), set by :func:`apply`.
    lrs: tuple[float, float] | None = None

    def run_changes(self) -> list[str]:
        """Each ``run.*`` value that changed, old -> new, with what the new one counts."""
        if self.size is None or self.old_size is None:
            return []
        out = []
        _, _, steps, updates = self.done
        for name, new in self.size.as_dict().items():
            old = self.old_size.get(name)
            if old == new:
                continue
            if name == "updates" and new is not None:
                why = f" ({updates} done + {new - updates} left under the current settings)"
            elif name == "steps" and new is not None:
                why = f" ({steps} done + {new - steps} left under the current settings)"
            elif name == "num_processes":
                why = " (the process count)"
            else:
                why = ""
            out.append(f"run.{name}: {_shown(old)} -> {_shown(new)}{why}")
        return out

    def lr_line(self) -> list[str]:
        if self.lrs is None:
            return []
        saved, now = self.lrs
        if saved == now:
            return [f"the next update uses lr {now:.6g}"]
        return [f"the next update uses lr {now:.6g} (the checkpoint's schedule was at {saved:.6g})"]

    @property
    def lines(self) -> list[str]:
        step, epoch = self.position
        head = f"resuming {self.folder} after {step} steps (epoch {epoch})"
        run, lr = self.run_changes(), [f"  {line}" for line in self.lr_line()]
        if self.old is None:
            return [head + "; the checkpoint does not record its plan, so changes cannot be listed"] + lr
        if not self.changes and not run:
            return [head + "; the pipeline is unchanged"] + lr
        return ([head + "; changed since the checkpoint:"] + [f"  {c}" for c in self.changes + run]
                + [f"  applied: {a}" for a in self.applied] + lr)


def write_plan(folder: Path, plan: Plan) -> None:
    """Record ``plan`` in a checkpoint being written (the main process calls this)."""
    (folder / PLAN_FILE).write_text(plan.to_json(), encoding="utf-8")


def read_plan(folder: Path) -> Plan | None:
    path = folder / PLAN_FILE
    if not path.is_file():
        return None
    return plan_from_file(path, "unreadable plan record")


def plan_from_file(path: Path, what: str) -> Plan:
    """A Plan read back from JSON through ``fileaccess`` (a forged one is a clear error, not a TypeError)."""
    import json as _json

    from hookpipe.fileaccess import Refused, read_json

    try:
        data = read_json(path)
        return Plan.from_json(_json.dumps(data))
    except Refused as exc:
        raise PlanResolveError(f"{what} {path}: the file {exc.reason}") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise PlanResolveError(f"{what} {path}: not a hookpipe plan ({type(exc).__name__}: {str(exc)[:200]}); "
                               "it was altered or written by something else") from None


def examine(plan: Plan, folder: str | Path, fix: str = FRESH_FROM_WEIGHTS) -> ResumeReport:
    """Compare the checkpoint in ``folder`` with ``plan``; raise for what cannot resume.

    ``fix`` is how to start fresh from the weights (named in refusals).
    """
    folder = Path(folder)
    state = _read_json(folder / "hookpipe-state-0.json")
    progress = (state or {}).get("progress", {}) if state is not None else _seed_progress(folder)
    cursor = (state or {}).get("cursor", {}) if state is not None else _seed_cursor(folder)
    step, epoch = int(progress.get("global_step_id", 0)), int(progress.get("epoch_id", 0))
    report = ResumeReport(folder, (step, epoch), read_plan(folder))
    report.done = (epoch, int(progress.get("step_id", 0)), step, int(progress.get("update_count", 0)))
    old_size = (state or {}).get("run")
    report.old_size = old_size if isinstance(old_size, dict) else None
    new = plan.trainer
    max_step, max_epoch = new.get("max_step"), new.get("max_epoch")
    limits = " and ".join(f"trainer.{k}={v}" for k, v in (("max_step", max_step), ("max_epoch", max_epoch))
                          if v is not None)
    # A damaged state is not judged here: reading it (checkpoint_state.read_state) reports the damage.
    sound = (state is not None and validate_state(state) is None) or (state is None and bool(progress))
    if sound and _past(max_step, max_epoch, step, epoch, report.done[1]):
        raise NothingToResume(
            f"nothing to train: {folder} stands after {step} steps (epoch {epoch}), past {limits}, so the run "
            f"would end before it; to train further, raise the limit: --set trainer.max_epoch={epoch + 1} "
            f"or --set trainer.max_step=N with N > {step}; to start a new run from its weights: {fix} {folder}")
    ended = (max_step is not None and step >= max_step) or (max_epoch is not None and epoch >= max_epoch)
    if sound and ended and cursor.get("scope") == "loop":
        raise NothingToResume(
            f"nothing to train: {folder} ends a run after {step} steps (epoch {epoch}), and {limits} ends there "
            f"too; to train further, raise the limit: --set trainer.max_epoch={epoch + 1} "
            f"or --set trainer.max_step=N with N > {step}")
    if state is not None and state.get("stopping") is not None and cursor.get("scope") == "loop":
        raise NothingToResume(
            f"nothing to train: {folder} ends a run that stopped early ({state['stopping']}); to train on from its "
            f"weights, start a new run: {fix} {folder}")
    old = report.old
    if old is None:
        return report
    if old.name != plan.name:
        report.changes.append(f"pipeline: {_show(old.name)} -> {_show(plan.name)}")
    _compare_trainer(old.trainer, new, report)
    _compare_hooks(old, plan, report)
    refusal = _refusal(old.trainer, new, folder, fix)
    if refusal is not None:
        raise ResumeRefused(refusal, report)
    return report


def _past(max_step: int | None, max_epoch: int | None, step: int, epoch: int, step_id: int) -> bool:
    """Whether a checkpoint at this position lies beyond the limits: a run with them stops before it.

    The position is the next step's (``TrainerProgressState.position``): ``step``
    steps done, in epoch ``epoch`` (begun when ``step_id`` steps of it are done). A
    checkpoint exactly at a limit is not past it: what its run had left (the
    ``after`` phases of the last step, epoch and loop) still runs.
    """
    if max_step is not None and step > max_step:
        return True
    return max_epoch is not None and (epoch > max_epoch or (epoch == max_epoch and step_id > 0))


def _refusal(old: dict[str, Any], new: dict[str, Any], folder: Path, fix: str) -> str | None:
    fresh = f"to start a new run from its weights (step 0, a fresh optimizer): {fix} {folder}"
    was, now = _target(old.get("optimizer")), _target(new.get("optimizer"))
    if was != now:
        return (f"cannot resume {folder}: trainer.optimizer changed from {was} to {now}, and an optimizer's state "
                f"does not carry over to another type; change it back, or, {fresh}")
    if old.get("grad_accumulation", 1) != new.get("grad_accumulation", 1) and any(folder.glob("hookpipe-grads-*")):
        return (f"cannot resume {folder}: trainer.grad_accumulation changed from {old.get('grad_accumulation', 1)} "
                f"to {new.get('grad_accumulation', 1)}, and the checkpoint was written inside an accumulation window "
                f"(its gradients belong to the old window); resume with the old value, resume from a checkpoint on "
                f"an update boundary, or, {fresh}")
    return None


def check_model_fits(model: Any, folder: str | Path, fix: str = FRESH_FROM_WEIGHTS) -> None:
    """Refuse a checkpoint whose saved weights do not fit ``model`` (names and shapes).

    Reads only the safetensors header, before anything loads, so the answer is a
    list of differences instead of torch's ``size mismatch`` traceback.
    """
    path = Path(folder) / "model.safetensors"
    if not path.is_file():
        return
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            saved = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception:  # noqa: BLE001 - a damaged file is reported by the load itself
        return
    current = {k: list(v.shape) for k, v in model.state_dict().items()}
    diffs = [f"{k}: {saved[k]} saved, {current[k]} now" for k in sorted(saved.keys() & current)
             if saved[k] != current[k]]
    diffs += [f"{k}: saved, not in the model now" for k in sorted(saved.keys() - current.keys())]
    diffs += [f"{k}: in the model now, not saved" for k in sorted(current.keys() - saved.keys())]
    if diffs:
        shown = "; ".join(diffs[:5]) + (f"; and {len(diffs) - 5} more" if len(diffs) > 5 else "")
        raise ResumeRefused(
            f"cannot resume {folder}: the model's parameters changed ({shown}); a checkpoint resumes only the model "
            f"it was written for: change the model back, or start a new run without --resume "
            f"({fix} needs the same shapes too)")


def apply(report: ResumeReport, trainer: Any) -> list[str]:
    """Write changed optimizer arguments into the restored optimizer; record and return what was done.

    With a changed run (settings or ``run.*`` values) and a scheduler, the learning
    rate is today's schedule at the updates already made (:mod:`.schedule_rebase`);
    ``report.lrs`` then holds the lr the checkpoint's optimizer had and the one the
    next update uses.
    """
    done = report.applied
    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
    scheduler = getattr(trainer.lr_scheduler, "scheduler", trainer.lr_scheduler)
    saved_lr = float(optimizer.param_groups[0]["lr"])
    changed = report.old is not None and (any(c.startswith("trainer.") for c in report.changes)
                                          or bool(report.run_changes()))
    rebased = (changed and report.fresh_schedule is not None
               and rebase(report.fresh_schedule, optimizer, scheduler))
    _write_optimizer_args(report, optimizer, scheduler, rebased)
    report.lrs = (saved_lr, float(optimizer.param_groups[0]["lr"]))
    return done


def _write_optimizer_args(report: ResumeReport, optimizer: Any, scheduler: Any, rebased: bool) -> None:
    done = report.applied
    for key, value in report.optimizer_args.items():
        if key == "lr" and rebased:  # today's schedule from today's lr, already written
            done.append(f"the optimizer's lr is now {optimizer.param_groups[0]['lr']:g} (the schedule from lr "
                        f"{value:g}, at update {report.done[3]})")
            continue
        for group in optimizer.param_groups:
            if key == "lr":
                base = group.get("initial_lr", _old_lr(report))
                factor = group["lr"] / base if base else 1.0
                group["lr"] = value * factor
                if "initial_lr" in group:
                    group["initial_lr"] = value
            elif key in group:
                group[key] = tuple(value) if isinstance(group[key], tuple) else value
        if key == "lr" and scheduler is not None and hasattr(scheduler, "base_lrs"):
            scheduler.base_lrs = [value for _ in scheduler.base_lrs]
            if hasattr(scheduler, "_last_lr"):
                scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]
        now = optimizer.param_groups[0].get(key)
        done.append(f"the optimizer's {key} is now {now:g}" if isinstance(now, float) else
                    f"the optimizer's {key} is now {now!r}")


def _old_lr(report: ResumeReport) -> float | None:
    old = report.old.trainer.get("optimizer") if report.old is not None else None
    value = old.get("args", {}).get("lr") if isinstance(old, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _compare_trainer(old: dict[str, Any], new: dict[str, Any], report: ResumeReport) -> None:
    before, after = _flatten("trainer", old), _flatten("trainer", new)
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key, "(unset)"), after.get(key, "(unset)")
        if a == b:
            continue
        report.changes.append(f"{key}: {_show(a)} -> {_show(b)}")
        parts = key.split(".")
        if parts[:2] == ["trainer", "optimizer"] and len(parts) == 3 and b != "(unset)":
            report.optimizer_args[parts[2]] = b


def _compare_hooks(old: Plan, new: Plan, report: ResumeReport) -> None:
    was, now = {h.name: h for h in old.hooks}, {h.name: h for h in new.hooks}
    for name in sorted(was.keys() - now.keys()):
        report.changes.append(f"hook {name}: removed")
    for name in sorted(now.keys() - was.keys()):
        report.changes.append(f"hook {name}: added ({now[name].type})")
    for name in sorted(was.keys() & now.keys()):
        a, b = was[name], now[name]
        if a.type != b.type:
            report.changes.append(f"hook {name}: type {a.type} -> {b.type}")
        fa, fb = _flatten("", a.args), _flatten("", b.args)
        for key in sorted(fa.keys() | fb.keys()):
            if fa.get(key) != fb.get(key):
                report.changes.append(f"hook {name}: {key.lstrip('.')} {_show(fa.get(key, '(unset)'))} -> "
                                      f"{_show(fb.get(key, '(unset)'))}")
    where_was, where_now = _attachments(old), _attachments(new)
    for name in sorted(where_was.keys() & where_now.keys()):
        if where_was[name] != where_now[name]:
            report.changes.append(f"hook {name}: runs {'; '.join(where_was[name])} -> {'; '.join(where_now[name])}")


def _attachments(plan: Plan) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for phase, entry in plan.entries():
        guard = entry.guard.describe()
        text = f"in {phase.key}" + (f" {guard}" if guard else "") + (" on main" if entry.main_only else "")
        out.setdefault(entry.hook, []).append(text)
    return out


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    """Dotted keys to leaf values; a ``$call`` shows as its target plus its arguments."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        if "$call" in value or "$ref" in value:
            out[prefix] = value.get("$call", value.get("$ref"))
            for k, v in (value.get("args") or {}).items():
                out.update(_flatten(f"{prefix}.{k}", v))
            return out
        for k, v in value.items():
            out.update(_flatten(f"{prefix}.{k}", v))
        return out
    return {prefix: value}


def _target(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("$call", value.get("$ref"))
    return value


def _shown(value: Any) -> str:
    return "unknown" if value is None else str(value)


def _show(value: Any) -> str:
    return value if value == "(unset)" else json.dumps(value)


def _seed_progress(folder: Path) -> dict[str, int]:
    """The position a seed ``SaveCheckpoint`` folder records (``hookpipe-progress.json``), or {}.

    That hook writes no ``hookpipe-state-0.json``; without this its resume was
    reported "after 0 steps (epoch 0)" and never judged against the limits.
    """
    data = _read_json(folder / PROGRESS_FILE)
    keys = ("epoch_id", "step_id", "global_step_id", "update_count")
    if data is None or not all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool) for k in keys):
        return {}
    return {k: data[k] for k in keys}


def _seed_cursor(folder: Path) -> dict[str, Any]:
    """Where in the loop a seed ``SaveCheckpoint`` saved (its marker's ``"at"``), as the built-in's cursor says it.

    ``{"scope": "loop"}`` for a save at the loop's end: the run it holds is finished.
    Older markers, and folders without one, say nothing: ``{}``.
    """
    marker = read_marker(folder) or {}
    return {"scope": "loop"} if marker.get("at") == "loop" else {}


def _read_json(path: Path) -> dict[str, Any] | None:
    from hookpipe.fileaccess import Refused, read_json

    try:
        data = read_json(path)
    except Refused:
        return None
    return data if isinstance(data, dict) else None


def load_weights(trainer: Any, folder: str | Path, fix: str = FRESH_FROM_WEIGHTS) -> None:
    """``--weights-from``: the checkpoint's model weights into a trainer that starts at step 0."""
    path = Path(folder) / "model.safetensors"
    if not path.is_file():
        raise PlanResolveError(f"{fix} {folder}: no model.safetensors in it (is it a hookpipe checkpoint?)")
    from safetensors.torch import load_file

    model = trainer.accelerator.unwrap_model(trainer.model)
    check_model_fits(model, folder, fix)
    model.load_state_dict(load_file(str(path), device="cpu"))
