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

``python -m hookpipe.runtime.run FILE [--set k=v]... [--resume DIR|latest|best] [--profile]``
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from hookpipe.closed_output import guarded_output
from hookpipe.run_arguments import add_run_arguments, run_arguments_problem
from hookpipe.runtime.distributed.teardown import exit_process
from hookpipe.runtime.errors import PlanResolveError
from hookpipe.runtime.plan.import_roots import use_import_roots

__all__ = ["RunOptions", "main", "resolve_resume", "resume_if_any", "run_file"]


class _Terminated(BaseException):
    """SIGTERM, turned into an exception so hooks' cleanup still runs."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


class NoCheckpointYet(PlanResolveError):
    """``--resume latest``/``best`` found no checkpoint to resume (``auto`` starts a new run then)."""


def resolve_resume(plan: Any, resume: str, flag: str = "--resume", label: str | None = None) -> str:
    """The checkpoint folder ``--resume`` names (``auto``: :func:`resume_if_any`); ``latest`` the newest complete
    checkpoint of the Plan's (single) checkpoint hook (``checkpoint``, or the seed's
    ``SaveCheckpoint``: its one folder, or the newest ``<save_root>.vN`` version of
    it that holds one), ``best`` the best-ranked one of its
    (single) checkpoint hook with a ``monitor``; both skip (and name) folders that
    fail verification, and a named hookpipe folder must verify. ``label`` names
    ``resume`` in messages (``auto`` looks as ``latest`` does)."""
    from hookpipe.runtime.checkpoints.best import best_verified
    from hookpipe.runtime.checkpoints.resume import newest_in_place, newest_verified
    from hookpipe.runtime.errors import PlanResolveError

    shown = label or resume
    if resume == "auto":
        newest = resume_if_any(plan)
        if newest is None:
            raise NoCheckpointYet(f"{flag} auto: no complete checkpoint; start without {flag}")
        return newest
    if resume not in ("latest", "best"):
        return _checkpoint_folder(resume, flag)
    hooks = [h for h in plan.hooks if h.builtin and h.type == "checkpoint"]
    in_place = [] if resume == "best" else [h for h in plan.hooks if not h.builtin and _saves_in_place(h.type)]
    if resume == "best":
        hooks = [h for h in hooks if h.args.get("monitor")]
    if not hooks and not in_place:
        what = "checkpoint hook with a monitor" if resume == "best" else "checkpoint hook"
        raise PlanResolveError(f"{flag} {shown}: {plan.source} has no {what}")
    folders = {h.args.get("dir") for h in hooks} | {h.args.get("save_root") for h in in_place}
    if len(folders) > 1:
        raise PlanResolveError(f"{flag} {shown}: {plan.source} saves checkpoints to several folders; name one")
    (folder,) = folders
    if folder is None:
        raise PlanResolveError(f"{flag} {shown}: {plan.source}'s checkpoint hook names no folder (save_root)")
    if in_place:
        found, skipped = newest_in_place(folder)
    elif resume == "best":
        found, skipped = best_verified(folder, hooks[0].args["monitor"])
    else:
        found, skipped = newest_verified(folder)
    for damaged, reason in skipped:
        _say_main(f"hookpipe: {flag} {shown}: skipping {damaged}: {reason}")
    if found is None:
        what = f"ranked checkpoint (by {hooks[0].args['monitor']})" if resume == "best" else "complete checkpoint"
        raise NoCheckpointYet(f"{flag} {shown}: no {what} in {folder}; start without {flag}")
    if flag == "--resume":  # --weights-from starts a new run: another pipeline's weights are its point
        _same_pipeline(plan, found, f"{flag} {shown}")
    return str(found)


def _same_pipeline(plan: Any, found: Any, what: str) -> None:
    """A checkpoint found by searching a folder must be this pipeline's, not another experiment's.

    Two files that name one checkpoint folder (a copy edited into a new experiment)
    would otherwise continue each other's weights, the changes listed as if edits
    of one run. Named pipelines (``pipeline "NAME"``) are compared; a checkpoint named
    by its path is the user's choice, and resumes with the name among its changes.
    """
    from hookpipe.fileaccess import display_name
    from hookpipe.runtime.checkpoints.resume_changes import ResumeRefused, read_plan
    from hookpipe.runtime.errors import PlanResolveError

    try:
        old = read_plan(Path(found))
    except PlanResolveError:
        return  # an unreadable plan record is reported when the run examines the checkpoint
    if old is None or old.name is None or plan.name is None or old.name == plan.name:
        return
    shown = display_name(str(found))
    raise ResumeRefused(
        f"{what}: {shown} was written by pipeline {display_name(repr(old.name))} "
        f"({display_name(str(old.source))}), not by this one ({display_name(repr(plan.name))}): it is another "
        f"experiment's; give this pipeline a checkpoint folder of its own, or name the checkpoint to continue it "
        f"anyway (--resume {shown}), or start a new run from its weights (--weights-from {shown})")


def resume_if_any(plan: Any) -> str | None:
    """``--resume auto``: what ``latest`` finds, or None where the checkpoint folder holds no complete one yet.

    For a job that a scheduler may start again (a preempted SLURM job, a requeue):
    the same command starts the run, continues it, and, once it has ended, finds
    nothing to train (exit 0). A Plan with no checkpoint hook is still an error.
    """

    try:
        return resolve_resume(plan, "latest", label="auto")
    except NoCheckpointYet:
        return None


def _saves_in_place(hook_type: str) -> bool:
    """Whether a hook type is the seed's ``SaveCheckpoint`` (one folder, replaced on each save)."""
    from hookpipe.compiler.catalog import seed_hook_type

    found = seed_hook_type(hook_type)
    return found is not None and found.saves_checkpoint


def _checkpoint_folder(folder: str, flag: str) -> str:
    """``folder`` when it is an intact checkpoint (hookpipe's, or a plain accelerate ``save_state``).

    One check, in order: the folder exists, hookpipe's checkpoint verifies against its
    marker (sizes and checksums), and a folder that is no checkpoint at all says so
    and names the newest intact one in or beside it.
    """
    from hookpipe.runtime.checkpoints.resume import MARKER, checkpoint_problem, latest_checkpoint
    from hookpipe.runtime.errors import PlanResolveError

    if "://" in folder and not folder.startswith("file://"):
        return folder  # remote: checked once copied
    p = Path(folder.removeprefix("file://"))
    if not p.is_dir():
        where = f"{p}: no such folder" if not p.exists() else f"{p}: not a folder"
        raise PlanResolveError(f"{flag} {folder}: {where}{_checkpoints_near(p)}")
    if (p / MARKER).exists():  # hookpipe's checkpoint must verify; a plain accelerate folder cannot
        reason = checkpoint_problem(p)
        if reason is not None:
            raise PlanResolveError(f"{flag} {folder}: the checkpoint is damaged: {reason}; resume from an "
                                   f"earlier checkpoint ({flag} latest picks the newest intact one)")
        return folder
    if any(p.glob("random_states_*.pkl")):
        return folder
    newest = latest_checkpoint(p)
    hint = f"; the newest checkpoint in it is {newest}" if newest is not None else _checkpoints_near(p)
    raise PlanResolveError(f"{flag} {folder}: not a checkpoint (no {MARKER}){hint}")


def _checkpoints_near(p: Path) -> str:
    from hookpipe.runtime.checkpoints.resume import latest_checkpoint

    newest = latest_checkpoint(p.parent)
    return f"; the newest checkpoint beside it is {newest} (`--resume latest` picks it)" if newest is not None else ""


@dataclass(frozen=True)
class RunOptions:
    """How ``hookpipe run`` runs, beyond the file, the overrides and ``--resume``.

    Attributes:
        check_effects: Verify at run time that each callback writes only what its
            hook declares (see :mod:`hookpipe.runtime.plan.effect_check`).
        lint: Run the lint rules before the first step (:mod:`hookpipe.lint.before_run`).
        weights_from: A checkpoint folder (or ``latest``) whose model weights a new
            run starts from.
        profile: Time every Plan entry; the table is printed after the summary and
            the JSON written to this path (see :mod:`hookpipe.runtime.tracking.profiler`).
    """

    check_effects: bool = False
    lint: bool = True
    weights_from: str | None = None
    profile: str | None = None


def run_file(path: str, sets: list[str], resume: str | None, check_effects: bool = False,
             options: RunOptions | None = None) -> int:
    """Train the pipeline in ``path``; print a summary; return the exit code.

    Args:
        path: A ``.pipe`` file (or a saved plan ``.json``).
        sets: ``--set`` overrides, ``trainer.KEY=VALUE`` / ``hook.NAME.ARG=VALUE``.
        resume: A checkpoint folder, ``"latest"``, ``"best"``, ``"auto"`` (:func:`resume_if_any`), or None.
        check_effects: Same as ``options.check_effects`` (kept for callers of the old signature).
        options: Everything else (:class:`RunOptions`).

    Example:
        >>> run_file("examples/digits/train.pipe", ["trainer.max_epoch=1"], None)  # doctest: +SKIP
        0
    """
    options = options or RunOptions(check_effects=check_effects)
    # A reader of stdout or stderr going away (`hookpipe run ... | head`) must not end the
    # training: what is still to print goes to os.devnull (hookpipe/closed_output.py).
    with guarded_output(_OUTPUT_CLOSED if _is_main() else None):
        return _run(path, sets, resume, options)


#: Said on stderr (when it is still open) once stdout's reader has gone.
_OUTPUT_CLOSED = ("hookpipe run: standard output was closed by the program reading it; the run carries on "
                  "and discards the rest of its output")


def _run(path: str, sets: list[str], resume: str | None, options: RunOptions) -> int:
    from hookpipe.runtime.seed_logs import show_seed_logs

    use_import_roots(path)
    hide_seed_logs = show_seed_logs()  # RoboOrchard Lab's hooks report by logging.info (runtime/seed_logs.py)
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if _main_thread() else None
    trainer = None
    ctx: Any = None  # the Compilation, once compiled: where a failing trainer setting was written
    started = time.perf_counter()
    resumed_from: str | None = None
    try:
        from hookpipe.errors import HookpipeError
        from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig
        from hookpipe.runtime.checkpoints.resume_changes import (
            FRESH_FROM_WEIGHTS,
            NothingToResume,
            ResumeRefused,
            load_weights,
        )
        from hookpipe.runtime.distributed.threads import apply_threads
        from hookpipe.runtime.errors import (
            FactoryFailure,
            HookpipeRuntimeError,
            RunFailure,
            RunInterrupted,
            SettingError,
        )
        from hookpipe.runtime.plan.overrides import apply_overrides, parse_sets
        from hookpipe.runtime.trainer import HookBasedTrainer

        try:
            ctx, plan = _compile(path)
            plan = apply_overrides(plan, parse_sets(sets))
            if ctx is not None and not _preflight(ctx, options):
                return 1
            extra: dict[str, Any] = {"check_effects": True} if options.check_effects else {}
            if options.profile is not None:
                extra["profile"] = True
            if resume == "auto":
                resumed_from = resume_if_any(plan)
                if resumed_from is None:
                    _say_main("hookpipe run: --resume auto: no complete checkpoint yet: starting a new run")
            elif resume is not None:
                resumed_from = resolve_resume(plan, resume)
            if resumed_from is not None:
                extra["resume_from"] = ResumeCheckpointConfig(resume_from=resumed_from)
            try:
                trainer = HookBasedTrainer.from_plan(plan, **extra)
            except ResumeRefused as exc:
                if exc.report is not None:
                    _say_main("\n".join(exc.report.lines))
                raise
            if trainer.resume_report is not None:
                _say_main("\n".join(trainer.resume_report.lines))
            for note in trainer.take_start_notes():  # said here, in the run's words, not logged again
                _say_main(f"hookpipe run: {note}")
            if options.weights_from is not None:
                folder = resolve_resume(plan, options.weights_from, FRESH_FROM_WEIGHTS)
                load_weights(trainer, folder)
                _say_main(f"starting a new run from the weights of {folder}")
            apply_threads(plan.trainer.get("threads"), trainer.accelerator.num_processes)
            started = time.perf_counter()
            trainer.stop.install()  # SIGTERM/SIGINT now finish the step and checkpoint
            try:
                trainer()
            finally:
                trainer.stop.uninstall()
        except RunInterrupted as exc:
            # Every process stops after the same step with the same checkpoint (the stop is agreed,
            # distributed/stop_agreement.py): one line, by the main process, which learnt any rank's reason.
            _say_error(trainer, f"hookpipe run: {_name(path)}: {exc}", alike=True)
            _after_main_said_it(trainer)
            return exc.exit_code
        except RunFailure as exc:
            cause = exc.__cause__
            if cause is not None and not isinstance(cause, HookpipeRuntimeError):  # ours say it all in one line
                traceback.print_exception(cause, file=sys.stderr)
            _say_error(trainer, f"hookpipe run: {_name(path)}: {exc}")
            return 1
        except NothingToResume as exc:
            _say_error(trainer, f"hookpipe run: {_name(path)}: {exc}", alike=True)
            return 0 if resume == "auto" else 1  # auto: a job started again after its run ended
        except HookpipeRuntimeError as exc:  # PlanResolveError and the rest of the runtime's own
            if isinstance(exc, FactoryFailure) and exc.__cause__ is not None:  # the factory's code, then where
                traceback.print_exception(exc.__cause__, file=sys.stderr)
            if isinstance(exc, SettingError):  # a value the file wrote that the run cannot use: a usage error
                place = _written_place(ctx, exc, sets)
                _say_error(trainer, f"hookpipe run: {place or _name(path)}: {_as_written(ctx, exc, sets)}",
                           alike=True)
                return exc.exit_code
            _say_error(trainer, f"hookpipe run: {_setting_place(ctx, str(exc), sets) or _name(path)}: {exc}",
                       alike=True)
            return 1
        except HookpipeError as exc:  # CompileError: the diagnostics say it all
            _say_error(trainer, str(exc), alike=True)
            return 1
    except KeyboardInterrupt:
        _say_error(trainer, f"hookpipe run: interrupted{_at_step(trainer)}")
        return 130
    except _Terminated:
        _say_error(trainer, f"hookpipe run: terminated{_at_step(trainer)}")
        return 143
    finally:
        hide_seed_logs()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        from hookpipe.runtime.run_lock import release_all

        release_all()  # the checkpoint and log folders' run locks (runtime/run_lock.py)
    seconds = time.perf_counter() - started
    _summary(trainer, path, seconds, resumed_from)
    if options.profile is not None and trainer.profiler is not None:
        return _write_profile(trainer, options.profile, seconds)
    return 0


def default_profile_path(path: str) -> str:
    """Where ``--profile`` writes without ``--profile-out``: ``STEM.profile.json`` here."""
    return f"{Path(path).stem}.profile.json"


def profile_path(path: str, profile: bool, out: str | None) -> str | None:
    """The profile's output path for ``--profile``/``--profile-out`` (None: not profiling)."""
    if out:
        return out
    return default_profile_path(path) if profile else None


def _write_profile(trainer: Any, out: str, seconds: float) -> int:
    """Print the per-entry table and write the JSON (main process only); 1 if it cannot be written."""
    if not trainer.accelerator.is_main_process:
        return 0
    from hookpipe.fileio import write_atomic

    state = trainer.trainer_progress_state
    report = trainer.profiler.report(seconds, state.global_step_id, state.epoch_id)
    print(report.table(), end="", flush=True)
    try:
        write_atomic(out, report.to_json())
    except OSError as exc:
        print(f"hookpipe run: cannot write the profile to {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"profile written to {out} (draw it: hookpipe render {trainer.plan.source} --profile {out} -o OUT.svg)",
          flush=True)
    return 0


def _compile(path: str) -> tuple[Any, Any]:
    """(the compilation or None for a saved plan, the Plan); compile errors raise CompileError."""
    if not path.endswith(".pipe"):
        from hookpipe.runtime.build import load_plan

        return None, load_plan(path)
    from hookpipe.compiler.pipeline import compile_path
    from hookpipe.diagnostics import has_errors
    from hookpipe.errors import CompileError
    from hookpipe.runtime.plan.verify import class_lookup_for

    # With the classes' own effects, as `check --resolve` orders them: what runs is what was checked.
    ctx = compile_path(path, classes=class_lookup_for(path))
    if has_errors(ctx.diagnostics) or ctx.plan is None:
        raise CompileError(ctx.diagnostics, ctx.sources)
    return ctx, ctx.plan


def _preflight(ctx: Any, options: RunOptions) -> bool:
    """Lint (unless turned off) and import what the file names; False when the run must not start.

    Both report in the compiler's format with file:line:col, on the main process only.
    """
    from hookpipe.errors import CompileError
    from hookpipe.runtime.plan.verify import resolve_diagnostics

    path = ctx.main
    if options.lint:
        from hookpipe.lint.before_run import lint_before_run

        result, text = lint_before_run(ctx, _processes())
        if text:
            _say_main(text.rstrip("\n"))
        if result.failed:
            return False
    found = resolve_diagnostics(ctx)
    if found:
        if _is_main():
            print(f"{CompileError(found, ctx.sources)}\n", file=sys.stderr)
            plural = "s" if len(found) != 1 else ""
            print(f"hookpipe run: {_name(path)}: not started: {len(found)} error{plural} in what the file names "
                  "(imports, factory arguments)", file=sys.stderr)
        return False
    return True


def _processes() -> int:
    # Known before accelerate starts: every launcher (accelerate, torchrun) sets WORLD_SIZE.
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def _is_main() -> bool:
    return os.environ.get("RANK", "0") in ("0", "")


def _say_main(message: str) -> None:
    if _is_main():
        print(_escaped_lines(message), file=sys.stderr, flush=True)


def _setting_place(ctx: Any, message: str, sets: list[str]) -> str | None:
    """``file:line:col`` of the trainer setting a runtime error starts with (``trainer.optimizer: ...``).

    The Plan keeps the settings' values, not where they were written; the
    compilation of this run still knows, so the error points at the line to fix.
    None where the file did not write it, or a ``--set`` changed it (the file's
    line is then not the value that failed).
    """
    m = re.match(r"trainer\.(\w+)", message)
    written = ctx.settings.get(m.group(1)) if ctx is not None and m is not None else None
    if written is None or m is None:
        return None
    key = f"trainer.{m.group(1)}"
    if any((name := item.split("=", 1)[0].strip()) == key or name.startswith(key + ".") for item in sets):
        return None
    span = written.span
    return f"{_name(span.file)}:{span.line}:{span.column}"


def _written_place(ctx: Any, exc: Any, sets: list[str]) -> str | None:
    """``file:line:col`` of the setting a :class:`SettingError` is about (``trainer.KEY``, ``hook.NAME.ARG``).

    The argument's own place when the compilation knows it, else the hook's
    declaration the Plan keeps; None where a ``--set`` gave the value (the file's
    line is then not the value that failed). An error about no one setting is
    placed at its span, if it has one.
    """
    setting = exc.setting
    if setting is None:  # about no one setting: where the Plan says (an attachment), if it does
        return None if exc.span is None else f"{_name(exc.span.file)}:{exc.span.line}:{exc.span.column}"
    if setting.startswith("trainer."):
        return _setting_place(ctx, setting, sets)
    if _was_set(setting, sets):
        return None
    _, name, arg = (setting.split(".", 2) + ["", ""])[:3]
    info = ctx.hooks.get(name) if ctx is not None else None
    span = next((a.span for a in info.decl.args if a.name == arg), None) if info is not None else None
    span = span or exc.span
    return None if span is None else f"{_name(span.file)}:{span.line}:{span.column}"


def _was_set(key: str, sets: list[str]) -> bool:
    """Whether a ``--set`` gave ``key`` (or a key below it)."""
    return any((name := item.split("=", 1)[0].strip()) == key or name.startswith(key + ".") for item in sets)


def _as_written(ctx: Any, exc: Any, sets: list[str]) -> str:
    """``exc``'s message, an uncalled factory shown as the file wrote it (``m.build_model``, not its import path)."""
    from hookpipe.runtime.errors import UncalledFactory

    if not isinstance(exc, UncalledFactory) or ctx is None or _was_set(exc.setting or "", sets):
        return str(exc)
    written = ctx.settings.get(exc.key)
    if written is None:
        return str(exc)
    span = written.value.span
    line = ctx.sources.line(span.file, span.line) if span.line == span.end_line else None
    text = line[span.column - 1:span.end_column - 1] if line is not None else ""
    return exc.told(text) if text.strip() else str(exc)


def _name(path: str) -> str:
    """A file name as printed (``fileaccess.display_name``): a newline in it cannot start a line."""
    from hookpipe.fileaccess import display_name

    return display_name(path)


def _escaped_lines(message: str) -> str:
    """Each line of ``message`` through ``hookpipe.escaping.escape`` (a path or value may hold ESC, bidi)."""
    from hookpipe.escaping import escape

    return "\n".join(escape(line) for line in message.split("\n"))


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _at_step(trainer: Any) -> str:
    if trainer is None:
        return ""
    return f" after {trainer.trainer_progress_state.global_step_id} steps"


def _say_error(trainer: Any, message: str, alike: bool = False) -> None:
    """Print a run's last word; ``alike``: every process has the same error (a mistake in the
    file, the settings or the command), so only the main process says it."""
    if alike and not _is_main():
        return
    rank = ""
    if trainer is not None and trainer.accelerator.num_processes > 1:
        rank = f"[rank {trainer.accelerator.process_index}] "
    # One write of the whole line: several ranks share the launcher's stderr, and
    # print() writes the text and the newline separately, so lines could interleave.
    sys.stderr.write(f"{rank}{_escaped_lines(message)}\n")
    sys.stderr.flush()


def _after_main_said_it(trainer: Any) -> None:
    """Keep every process until the main one has said why the run stopped (a barrier).

    A launcher ends every process as soon as one exits with a non-zero status, and
    only the main process says an agreed stop: the other processes leaving first
    could cut it off before its line. Every process is here after the same step (the
    stop was agreed and its checkpoint written by all), so none waits for a stuck one.
    """
    if trainer.accelerator.num_processes > 1:
        trainer.accelerator.wait_for_everyone()


def _final_loss(trainer: Any) -> float | None:
    """The last step's loss, the mean over processes as ``log()`` reports it (None: no step ran).

    Each process holds its own (a ``.pipe`` processor keeps it unless ``average_loss
    = true``), so this is one all-reduce, called by every process: only after a run
    that ended normally on all of them, where ``exit_process``'s barrier follows.
    """
    from hookpipe.runtime.tracking.loss_meter import LossMeter

    meter = LossMeter()
    meter.add(trainer.last_loss)
    return meter.take_mean(trainer.accelerator)


def _summary(trainer: Any, path: str, seconds: float, resumed_from: str | None = None) -> None:
    loss = _final_loss(trainer)  # a collective: before the other processes leave
    if not trainer.accelerator.is_main_process:
        return
    state = trainer.trainer_progress_state
    loss_text = f"{loss:.4f}" if loss is not None else "n/a"
    checkpoints = [
        str(inst.last_path) for inst in trainer.hook_instances.values() if getattr(inst, "last_path", None) is not None
    ]
    metrics = [
        m for inst in trainer.hook_instances.values() if (m := getattr(inst, "last_metrics", None)) is not None
    ]
    steps, epochs = state.global_step_id, state.epoch_id
    parts = [
        f"{Path(path).name}: {_count(steps, 'step')}, {_count(epochs, 'epoch')} in {seconds:.1f} s"
        + (f" (resumed from {resumed_from})" if resumed_from else ""),
        f"final loss {loss_text}",
    ]
    if metrics:
        parts.append("last validation " + ", ".join(f"{k}={v:.4f}" for k, v in metrics[-1].items()))
    parts.append(f"checkpoint {checkpoints[-1]}" if checkpoints else "no checkpoint")
    if trainer.run.stop_reason is not None:
        parts.append(f"stopped early: {trainer.run.stop_reason}")
    print(_escaped_lines("; ".join(parts)), flush=True)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry for ``python -m hookpipe.runtime.run``."""
    parser = argparse.ArgumentParser(prog="hookpipe run", description="Train the pipeline in FILE.")
    add_run_arguments(parser)
    ns = parser.parse_args(argv)
    problem = run_arguments_problem(ns)
    if problem is not None:
        parser.error(problem)  # exit code 2, as `hookpipe run` gives
    options = RunOptions(check_effects=ns.check_effects, lint=not ns.no_lint, weights_from=ns.weights_from,
                         profile=profile_path(ns.file, ns.profile, ns.profile_out))
    return run_file(ns.file, ns.sets, ns.resume, options=options)


if __name__ == "__main__":
    exit_process(main())
