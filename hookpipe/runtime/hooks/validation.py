"""Validation: the ``validation`` built-in and the seed's ValidationHook.

Callback protocol (decided once, when the hook is built, from the signature):

* ``callback()`` when it takes no required positional parameter (a closure), or
* with one: ``callback(model)`` when the hook comes from a
  :class:`ValidationHookConfig` (the seed's ``eval_callback(model)``), and
  ``callback(args)`` in a Plan's ``validation`` built-in, where ``args`` is the
  :class:`PipelineHookArgs` of the phase it runs in (``args.model``,
  ``args.accelerator`` and the ids at hand).

It may return metrics (a mapping of names to numbers, or one number, logged as
``metric``) or None. Metrics are printed on the main process and kept in
:attr:`ValidationHook.history`; the seed's hook also sends them to
``accelerator.log``, while in a Plan the ``log()`` hook writes them, so each
tracker row is one ``log()`` firing. The model is put in eval mode for the call
and restored after, even if the callback raises.

With a ``dataloader`` (:mod:`.validation_loader`) the callback runs once per batch
as ``callback(model, batch)``, returning per-sample values that are gathered
across processes and averaged over the whole set. With ``weights = "ema"`` the
pipeline's ``ema`` hook's weights are swapped in for the evaluation and the
training weights put back after.

A ``validation NAME { ... }`` block in the ``.pipe`` file gives the hook its own
scopes (bound by :meth:`ValidationHook.bind_validation_scopes`): ``before`` runs
once before the first batch (model in eval mode, the evaluated weights in place),
``batch.before`` / ``batch.after`` around each batch with ``args.batch`` the
validation batch, ``args.step_id`` its 0-based id and, after it,
``args.model_outputs`` the callback's per-sample values; ``after`` once the
metrics are computed, with ``args.model_outputs`` the metrics (a dict of floats)
and ``args.batch`` None. ``epoch_id`` and ``global_step_id`` stay the training's.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import numbers
from typing import Any, Callable, Iterator, Mapping, SupportsFloat, cast

from robo_orchard_core.utils.config import CallableType, ClassType

from hookpipe.compiler.catalog import BUILTINS, ValidationArgs
from hookpipe.compiler.seed_fields import ValidationHookFields
from hookpipe.runtime.args import PipelineHookArgs, last_epoch
from hookpipe.runtime.builtins.validation_loader import LoaderEvaluation
from hookpipe.runtime.hooks.mixin import HookContext, PipelineHooks, PipelineHooksConfig

__all__ = ["ValidationHook", "ValidationHookConfig", "wants_args"]

#: The seed's logger name, so log filters and tests that patch it keep working.
logger = logging.getLogger("robo_orchard_lab.pipeline.hooks.validation")


def wants_args(callback: Callable[..., Any]) -> bool:
    """Whether ``callback`` takes the hook arguments (one required positional parameter)."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(p.kind in positional and p.default is inspect.Parameter.empty for p in params)


def _as_metrics(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): float(cast(SupportsFloat, v)) for k, v in value.items() if isinstance(v, numbers.Number)}
    if isinstance(value, numbers.Number):
        return {"metric": float(cast(SupportsFloat, value))}
    if hasattr(value, "item"):
        return {"metric": float(value.item())}
    return None


class ValidationHook(PipelineHooks):
    """Run an evaluation callback with the model in eval mode.

    Built from a :class:`ValidationHookConfig` (seed style: its own step/epoch
    frequencies, on ``on_step``/``on_epoch`` after) or, in a Plan, from the
    ``validation`` built-in's arguments (the Plan's guards decide when; every
    ``on_*`` callback runs it).
    """

    #: The catalog's effects (the compiler reads the same entry).
    effects = BUILTINS["validation"].effects.to_json()

    def __init__(self, cfg: "ValidationHookConfig") -> None:
        super().__init__()
        self.cfg = cfg
        self._setup(cfg.eval_callback, model_eval=True)
        # The seed calls eval_callback(model); a callback without parameters is called bare.
        self._pass_model: bool = wants_args(cfg.eval_callback)
        self._pass_args = False
        self.step_eval_freq = cfg.step_eval_freq
        self.epoch_eval_freq = cfg.epoch_eval_freq
        if cfg.epoch_eval_freq is not None:
            self.register_hook("on_epoch", HookContext.from_callable(after=self._on_epoch_end))
        if cfg.step_eval_freq is not None:
            self.register_hook("on_step", HookContext.from_callable(after=self._on_step_end))
        if cfg.eval_at_begin:
            self.register_hook("on_loop", HookContext.from_callable(before=self._on_loop_begin))

    @classmethod
    def from_plan_args(cls, args: ValidationArgs) -> "ValidationHook":
        self = cls.__new__(cls)
        PipelineHooks.__init__(self)
        self.step_eval_freq = self.epoch_eval_freq = None
        callback = args.callback
        if not callable(callback):
            raise TypeError(f"validation callback must be callable, got {callback!r}")
        self._setup(callback, model_eval=args.model_eval, to_trackers=False)
        if args.dataloader is not None:
            self._loader = LoaderEvaluation(callback, args.dataloader)
        self.weights = args.weights
        return self

    def _setup(self, callback: Callable[..., Any], *, model_eval: bool, to_trackers: bool = True) -> None:
        self.eval_callback = callback
        self.model_eval = model_eval
        self._pass_args = wants_args(callback)
        self._pass_model = False
        #: The seed's hook logs to accelerate's trackers itself; a Plan's ``log()`` does it there.
        self.to_trackers = to_trackers
        self._loader: LoaderEvaluation | None = None
        #: ``"model"`` or the name of a hook providing averaged weights (a Plan's ``weights`` argument).
        self.weights = "model"
        self._trainer: Any = None
        #: The label of the evaluation under way (see :meth:`_evaluate_labelled`).
        self._label: int | None = None
        self._epoch: int | None = None  # the epoch an evaluation at the loop's end names (see last_epoch)
        #: ``(completed steps, metrics)`` of every evaluation, oldest first.
        self.history: list[tuple[int, dict[str, float] | None]] = []
        #: The phases of a ``validation NAME { }`` block (a ``ValidationScopes``), if the file has one.
        self._scopes: Any = None

    def bind_validation_scopes(self, scopes: Any) -> None:
        """Run ``scopes`` (the Plan's ``validation NAME { }`` phases) inside each evaluation's loop."""
        if self._loader is None:
            raise TypeError("a validation block needs a validation hook with a dataloader")
        self._scopes = scopes

    def bind_trainer(self, trainer: Any) -> None:
        """``weights = "ema"`` takes the weights from the trainer's ``ema`` hook."""
        self._trainer = trainer

    @contextlib.contextmanager
    def _weights(self, model: Any) -> Iterator[None]:
        """``weights = NAME``: what ``with`` an ``ema_swap(source = NAME)`` bracket does, around the evaluation."""
        if self.weights == "model":
            yield
            return
        from hookpipe.runtime.builtins.averaged import provider
        from hookpipe.runtime.builtins.ema import EmaHook

        instances: dict[str, Any] = self._trainer.hook_instances if self._trainer is not None else {}
        name = self.weights
        if name == "ema" and "ema" not in instances:  # the pipeline's one ema hook, whatever its name
            emas = [n for n, inst in instances.items() if isinstance(inst, EmaHook)]
            if len(emas) != 1:
                raise RuntimeError(f'weights = "ema" needs exactly one ema hook in the pipeline, found {len(emas)}')
            name = emas[0]
        with provider(instances, name, f"validation(weights = {self.weights!r})").swapped_in(model):
            yield

    def state_dict(self) -> dict[str, Any]:
        """The history (best-so-far and last metrics derive from it), checkpointed."""
        return {"history": [[done, metrics] for done, metrics in self.history]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = [(int(done), metrics) for done, metrics in state["history"]]

    @property
    def last_metrics(self) -> dict[str, float] | None:
        return self.history[-1][1] if self.history else None

    def evaluate(self, hook_args: PipelineHookArgs) -> dict[str, float] | None:
        """The seed's override point: evaluate now (every evaluation of this hook calls it).

        A subclass may override it with the seed's signature; the default runs
        :meth:`evaluate_at` and returns the metrics (the seed returns None).
        """
        if hook_args.model is None and hasattr(self, "cfg"):  # the seed's check, for its config-built hook
            raise ValueError("Model is not set in the hook arguments.")
        return self.evaluate_at(hook_args, self._label)

    def _evaluate_labelled(self, args: PipelineHookArgs, completed_steps: int | None = None,
                           epoch: int | None = None) -> None:
        """Call :meth:`evaluate` (maybe a subclass's), the result labelled ``completed_steps`` (and ``epoch``)."""
        self._label, self._epoch = completed_steps, epoch
        try:
            self.evaluate(args)
        finally:
            self._label = self._epoch = None

    def evaluate_at(self, args: PipelineHookArgs, completed_steps: int | None = None) -> dict[str, float] | None:
        """Run the callback once; return (and log) its metrics (hookpipe's own entry point).

        ``completed_steps`` labels the result (defaults to ``global_step_id``, which
        is the count of finished steps at epoch and loop boundaries).
        """
        done = args.global_step_id if completed_steps is None else completed_steps
        metrics = self._compute(args)
        self.history.append((done, metrics))
        if metrics:
            accelerator = args.accelerator
            text = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())
            epoch = args.epoch_id if self._epoch is None else self._epoch
            accelerator.print(f"validation after {done} steps (epoch {epoch}): {text}")
            if self.to_trackers:
                accelerator.log(metrics, step=done)
        if self._scopes is not None:
            outputs = dict(metrics or {})
            self._scopes.run("validation", "after", args.copy_with_updates(batch=None, model_outputs=outputs))
        return metrics

    def _compute(self, args: PipelineHookArgs, limit: int | None = None) -> dict[str, float] | None:
        model = args.model
        was_training = bool(model is not None and model.training)
        if model is not None and self.model_eval:
            model.eval()
        try:
            with self._weights(model):
                if self._loader is not None and self._scopes is not None and limit is None:
                    # a real validation (not the sanity check): the `validation NAME { }` block runs around it
                    self._scopes.run("validation", "before", args.copy_with_updates(batch=None, model_outputs=None))
                    result: Any = self._loader.run(args.accelerator, model, _BatchScopes(self._scopes, args))
                elif self._loader is not None:
                    result = self._loader.run(args.accelerator, model, limit=limit)
                elif self._pass_model:
                    result = self.eval_callback(model)
                else:
                    result = self.eval_callback(args) if self._pass_args else self.eval_callback()
        finally:
            if model is not None and self.model_eval:
                model.train(was_training)
        return _as_metrics(result)

    def sanity_check(self, args: PipelineHookArgs, batches: int) -> dict[str, float] | None:
        """The metrics of a trial evaluation before training (its first ``batches`` batches with a
        dataloader, else the callback once), recorded, printed and logged nowhere."""
        return self._compute(args, batches)

    def need_eval(self, hook_args: PipelineHookArgs) -> bool:
        """The seed's frequency rule (used only when built from a config)."""
        if self.step_eval_freq is not None and (hook_args.global_step_id + 1) % self.step_eval_freq == 0:
            return True
        return self.epoch_eval_freq is not None and (hook_args.epoch_id + 1) % self.epoch_eval_freq == 0

    def _custom_need_eval(self) -> bool:
        """Whether a subclass overrides :meth:`need_eval` (then it decides, as in the seed)."""
        return type(self).need_eval is not ValidationHook.need_eval

    # The seed's callback names, so ``print(trainer.hooks)`` shows the seed's tree.
    def _on_loop_begin(self, hook_args: PipelineHookArgs) -> None:
        self._evaluate_labelled(hook_args)

    def _on_step_end(self, hook_args: PipelineHookArgs) -> None:
        if self._custom_need_eval():
            due = self.need_eval(hook_args)
        else:  # hookpipe's rule: a step end evaluates on the step frequency only (docs/compat.md)
            due = self.step_eval_freq is not None and (hook_args.global_step_id + 1) % self.step_eval_freq == 0
        if due:
            self._evaluate_labelled(hook_args, hook_args.global_step_id + 1)

    def _on_epoch_end(self, hook_args: PipelineHookArgs) -> None:
        if self._custom_need_eval():
            due = self.need_eval(hook_args)
        else:
            due = self.epoch_eval_freq is not None and (hook_args.epoch_id + 1) % self.epoch_eval_freq == 0
        if due:
            self._evaluate_labelled(hook_args)

    # A Plan may attach validation to any phase; each callback evaluates once.
    # Inside a step the step is still running, so it counts as completed after it.
    def _at_boundary(self, args: PipelineHookArgs) -> None:
        self._evaluate_labelled(args)

    def _in_step(self, args: PipelineHookArgs) -> None:
        self._evaluate_labelled(args, args.global_step_id + 1)

    def on_loop_end(self, args: PipelineHookArgs) -> None:
        """At the loop's end the ids count the epochs run (the seed's): the message names the last one."""
        self._evaluate_labelled(args, epoch=last_epoch(args))

    on_loop_begin = on_epoch_begin = on_epoch_end = _at_boundary
    on_step_begin = on_step_end = on_batch_begin = on_batch_end = _in_step
    on_model_forward_begin = on_model_forward_end = _in_step
    on_model_backward_begin = on_model_backward_end = _in_step


class _BatchScopes:
    """The ``batch`` phases of a validation block, with each batch's args (see the module docstring)."""

    def __init__(self, scopes: Any, args: PipelineHookArgs) -> None:
        self.scopes = scopes
        self.args = args

    def before_batch(self, batch_id: int, batch: Any, last: bool) -> None:
        args = self.args.copy_with_updates(batch=batch, step_id=batch_id, model_outputs=None)
        self.scopes.run("batch", "before", args, batch_id=batch_id, last=last)

    def after_batch(self, batch_id: int, batch: Any, outputs: Mapping[str, Any], last: bool) -> None:
        args = self.args.copy_with_updates(batch=batch, step_id=batch_id, model_outputs=outputs)
        self.scopes.run("batch", "after", args, batch_id=batch_id, last=last)


class ValidationHookConfig(PipelineHooksConfig[ValidationHook], ValidationHookFields):
    """Configuration of :class:`ValidationHook`.

    Fields: :class:`~hookpipe.compiler.seed_fields.ValidationHookFields`, with which the compiler
    checks a ``.pipe`` file's.
    """

    class_type: ClassType[ValidationHook] = ValidationHook
    eval_callback: CallableType[..., Any]
    """The evaluation callback (see the module docstring for what it is passed)."""
