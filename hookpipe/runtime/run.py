"""``hookpipe run``: train from a ``.pipe`` file and report in one paragraph.

Exit codes: 0 done, 1 failed, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
Once training has started, the first SIGTERM or SIGINT finishes the current step,
writes a checkpoint when the Plan has a checkpoint hook, and says where it is; a
second one stops at once.
Mistakes in the file or the command line (bad paths, overrides, settings, missing
checkpoints) print one paragraph and no traceback; a hook or the model raising
prints the failing code's traceback, then the paragraph naming the hook or scope,
the step and the ``.pipe`` location. Works the same under ``accelerate launch``
(summary and messages from the main process; failures from every rank that fails).

``python -m hookpipe.runtime.run FILE [--set k=v]... [--resume DIR|latest|best]``
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn, Sequence

__all__ = ["main", "resolve_resume", "run_file"]


class _Terminated(BaseException):
    """SIGTERM, turned into an exception so hooks' cleanup still runs."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


def resolve_resume(plan: Any, resume: str) -> str:
    """The checkpoint folder ``--resume`` names; ``latest`` is the newest complete
    checkpoint of the Plan's (single) checkpoint hook, ``best`` the best-ranked one of
    its (single) checkpoint hook with a ``monitor``; both skip (and name) folders that
    fail verification, and a named hookpipe folder must verify."""
    from hookpipe.runtime.best import best_verified
    from hookpipe.runtime.errors import PlanResolveError
    from hookpipe.runtime.resume import MARKER, checkpoint_problem, newest_verified

    if resume not in ("latest", "best"):
        if (Path(resume) / MARKER).exists():  # hookpipe's checkpoint must verify; a plain accelerate folder cannot
            reason = checkpoint_problem(resume)
            if reason is not None:
                raise PlanResolveError(f"--resume {resume}: the checkpoint is damaged: {reason}; resume from an "
                                       "earlier checkpoint (--resume latest picks the newest intact one)")
        return resume
    hooks = [h for h in plan.hooks if h.builtin and h.type == "checkpoint"]
    if resume == "best":
        hooks = [h for h in hooks if h.args.get("monitor")]
    if not hooks:
        what = "checkpoint hook with a monitor" if resume == "best" else "checkpoint hook"
        raise PlanResolveError(f"--resume {resume}: {plan.source} has no {what}")
    if len({h.args.get("dir") for h in hooks}) > 1:
        raise PlanResolveError(f"--resume {resume}: {plan.source} saves checkpoints to several folders; name one")
    folder = hooks[0].args.get("dir")
    found, skipped = best_verified(folder, hooks[0].args["monitor"]) if resume == "best" else newest_verified(folder)
    for damaged, reason in skipped:
        print(f"hookpipe: --resume {resume}: skipping {damaged}: {reason}", file=sys.stderr)
    if found is None:
        what = f"ranked checkpoint (by {hooks[0].args['monitor']})" if resume == "best" else "complete checkpoint"
        raise PlanResolveError(f"--resume {resume}: no {what} in {folder}")
    return str(found)


def run_file(path: str, sets: list[str], resume: str | None, check_effects: bool = False) -> int:
    """Train the pipeline in ``path``; print a summary; return the exit code.

    Args:
        path: A ``.pipe`` file (or a saved plan ``.json``).
        sets: ``--set`` overrides, ``trainer.KEY=VALUE`` / ``hook.NAME.ARG=VALUE``.
        resume: A checkpoint folder, ``"latest"``, ``"best"``, or None.
        check_effects: Verify at run time that each callback writes only what its
            hook declares (see :mod:`hookpipe.runtime.effect_check`).

    Example:
        >>> run_file("examples/digits/train.pipe", ["trainer.max_epoch=1"], None)  # doctest: +SKIP
        0
    """
    # The project root must be importable for `use x = "examples.x"`.
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if _main_thread() else None
    trainer = None
    started = time.perf_counter()
    try:
        from hookpipe.errors import HookpipeError
        from hookpipe.runtime.build import load_plan
        from hookpipe.runtime.errors import HookpipeRuntimeError, RunFailure, RunInterrupted
        from hookpipe.runtime.overrides import apply_overrides, parse_sets
        from hookpipe.runtime.resume import ResumeCheckpointConfig
        from hookpipe.runtime.threads import apply_threads
        from hookpipe.runtime.trainer import HookBasedTrainer

        try:
            plan = apply_overrides(load_plan(path), parse_sets(sets))
            extra: dict[str, Any] = {"check_effects": True} if check_effects else {}
            if resume is not None:
                extra["resume_from"] = ResumeCheckpointConfig(resume_from=resolve_resume(plan, resume))
            trainer = HookBasedTrainer.from_plan(plan, **extra)
            apply_threads(plan.trainer.get("threads"), trainer.accelerator.num_processes)
            started = time.perf_counter()
            trainer.stop.install()  # SIGTERM/SIGINT now finish the step and checkpoint
            try:
                trainer()
            finally:
                trainer.stop.uninstall()
        except RunInterrupted as exc:
            _say_error(trainer, f"hookpipe run: {path}: {exc}")
            return exc.exit_code
        except RunFailure as exc:
            cause = exc.__cause__
            if cause is not None:
                traceback.print_exception(cause, file=sys.stderr)
            _say_error(trainer, f"hookpipe run: {path}: {exc}")
            return 1
        except HookpipeRuntimeError as exc:  # PlanResolveError and the rest of the runtime's own
            _say_error(trainer, f"hookpipe run: {path}: {exc}")
            return 1
        except HookpipeError as exc:  # CompileError: the diagnostics say it all
            _say_error(trainer, str(exc))
            return 1
    except KeyboardInterrupt:
        _say_error(trainer, f"hookpipe run: interrupted{_at_step(trainer)}")
        return 130
    except _Terminated:
        _say_error(trainer, f"hookpipe run: terminated{_at_step(trainer)}")
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    _summary(trainer, path, time.perf_counter() - started)
    return 0


def exit_process(code: int) -> NoReturn:
    """End a ``hookpipe run`` process with ``code``.

    A distributed run must not be left to interpreter shutdown: gloo's C++ worker
    threads can still hold objects with Python references while the interpreter
    is torn down, and that rank then aborts ("terminate called without an active
    exception", exit -6, about one two-process run in twenty here), failing the
    whole launch after its work was done. So after a successful run every rank
    waits for the others, the process group is destroyed, output is flushed, and
    the process ends without finalisation (``os._exit``). Checkpoints are already
    closed and renamed by then. (After a failure ranks may be stuck, so there is
    nothing to wait for.)
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if code == 0:
            dist.barrier()
        dist.destroy_process_group()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _at_step(trainer: Any) -> str:
    if trainer is None:
        return ""
    return f" at global step {trainer.trainer_progress_state.global_step_id}"


def _say_error(trainer: Any, message: str) -> None:
    rank = ""
    if trainer is not None and trainer.accelerator.num_processes > 1:
        rank = f"[rank {trainer.accelerator.process_index}] "
    print(rank + message, file=sys.stderr, flush=True)


def _summary(trainer: Any, path: str, seconds: float) -> None:
    if not trainer.accelerator.is_main_process:
        return
    state = trainer.trainer_progress_state
    loss = trainer.last_loss
    loss_text = f"{float(loss):.4f}" if loss is not None else "n/a"
    checkpoints = [
        str(inst.last_path) for inst in trainer.hook_instances.values() if getattr(inst, "last_path", None) is not None
    ]
    metrics = [
        m for inst in trainer.hook_instances.values() if (m := getattr(inst, "last_metrics", None)) is not None
    ]
    parts = [
        f"{Path(path).name}: {state.global_step_id} steps, {state.epoch_id} epochs in {seconds:.1f} s",
        f"final loss {loss_text}",
    ]
    if metrics:
        parts.append("last validation " + ", ".join(f"{k}={v:.4f}" for k, v in metrics[-1].items()))
    parts.append(f"checkpoint {checkpoints[-1]}" if checkpoints else "no checkpoint")
    if trainer.run.stop_reason is not None:
        parts.append(f"stopped early: {trainer.run.stop_reason}")
    print("; ".join(parts), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry for ``python -m hookpipe.runtime.run``."""
    parser = argparse.ArgumentParser(prog="hookpipe run", description="Train the pipeline in FILE.")
    parser.add_argument("file")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--resume", default=None, metavar="DIR|latest|best")
    parser.add_argument("--check-effects", action="store_true")
    ns = parser.parse_args(argv)
    return run_file(ns.file, ns.sets, ns.resume, ns.check_effects)


if __name__ == "__main__":
    exit_process(main())
