"""`hookpipe run` as a new user meets it: each mistake is one paragraph, never a traceback.

Every test starts the real command in a subprocess and asserts the exit code and
the words the user reads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIGITS = "examples/digits/train.pipe"

pytestmark = pytest.mark.slow


def hookpipe(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def digits(tmp: Path, *args: str, pipe: str = DIGITS) -> subprocess.CompletedProcess[str]:
    """The digits example with its checkpoints in ``tmp``."""
    return hookpipe("run", pipe, "--set", f"hook.save.dir={tmp}", *args)


def edited_digits(tmp: Path, optimizer: str) -> str:
    """The digits example with another optimizer, as a user edits it (``--set`` never names code)."""
    text = (ROOT / DIGITS).read_text()
    assert '"torch.optim.AdamW"' in text
    folder = tmp / "edited"
    folder.mkdir(exist_ok=True)
    (folder / "train.pipe").write_text(text.replace('"torch.optim.AdamW"', f'"{optimizer}"'))
    return str(folder / "train.pipe")


def test_a_misspelt_file_is_named_with_the_nearest_pipeline() -> None:
    done = hookpipe("run", "examples/digits/trian.pipe")
    assert done.returncode == 2
    assert "hookpipe run: examples/digits/trian.pipe: no such file; did you mean examples/digits/train.pipe?" \
        in done.stderr


def test_a_folder_lists_the_pipelines_in_it() -> None:
    done = hookpipe("run", "examples/")
    assert done.returncode == 2
    assert "examples/: is a folder; `hookpipe run` trains one pipeline: name its .pipe file (found: " in done.stderr
    assert "examples/digits/train.pipe" in done.stderr


def test_the_python_module_is_not_parsed_as_a_pipeline() -> None:
    done = hookpipe("run", "examples/digits/train.py")
    assert done.returncode == 2
    assert "examples/digits/train.py: not a .pipe file" in done.stderr
    assert "the pipelines beside it: examples/digits/train.pipe" in done.stderr
    assert "HP001" not in done.stderr


def test_a_missing_runtime_says_which_pip_install_to_run() -> None:
    # As in a base install: robo_orchard_core cannot be imported.
    code = ("import sys; sys.modules['robo_orchard_core'] = None; from hookpipe.cli import main; "
            f"sys.exit(main(['run', '{DIGITS}']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "`hookpipe run` needs the runtime, which is not installed (missing: robo_orchard_core)" in done.stderr
    assert "install it with: pip install 'hookpipe[runtime]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_resume_from_a_folder_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "step-00000010").mkdir()
    done = digits(tmp_path, "--resume", str(tmp_path / "step-00000010"))
    assert done.returncode == 1
    assert f"--resume {tmp_path / 'step-00000010'}: not a checkpoint (no hookpipe-checkpoint.json)" in done.stderr
    done = digits(tmp_path, "--resume", str(tmp_path / "nowhere"))
    assert done.returncode == 1
    assert f"--resume {tmp_path / 'nowhere'}: {tmp_path / 'nowhere'}: no such folder" in done.stderr


def test_set_keys_and_hook_arguments_suggest_the_nearest_name(tmp_path: Path) -> None:
    done = digits(tmp_path, "--set", "trainer.max_epochs=1")
    assert done.returncode == 1
    assert "--set trainer.max_epochs: unknown trainer setting `max_epochs`; did you mean `trainer.max_epoch`?" \
        in done.stderr
    done = digits(tmp_path, "--set", "hook.clip.max_nrom=0.5")
    assert done.returncode == 1
    assert "--set hook.clip.max_nrom: unknown argument of grad_clip `max_nrom`; did you mean `hook.clip.max_norm`?" \
        in done.stderr


def test_a_set_without_a_value_is_a_usage_error_and_a_bad_value_is_blamed_on_its_set(tmp_path: Path) -> None:
    done = digits(tmp_path, "--set", "trainer.max_epoch")
    assert done.returncode == 2  # a usage error, as argparse's own
    assert "usage: hookpipe run" in done.stderr
    assert "argument --set: expects KEY=VALUE (e.g. trainer.max_step=100), got 'trainer.max_epoch'" in done.stderr
    done = digits(tmp_path, "--set", "trainer.max_epoch=abc")
    assert done.returncode == 1
    assert "--set trainer.max_epoch='abc': Input should be a valid integer" in done.stderr
    assert "invalid trainer settings in" not in done.stderr and not any(tmp_path.iterdir())


def test_arguments_of_factories_and_custom_hooks_suggest_the_nearest_name(tmp_path: Path) -> None:
    done = digits(tmp_path, "--no-lint", "--set", "trainer.model.hiddn=3")
    assert done.returncode == 1
    assert ("trainer.model: calling examples.digits.train:build_model(hidden=64, hiddn=3) failed: build_model() got an "
            "unexpected keyword argument 'hiddn'; did you mean `hidden`?") in done.stderr
    done = digits(tmp_path, "--no-lint", "--set", "hook.speed.windw=3")
    assert done.returncode == 1
    assert ("building examples.digits.train:Throughput failed: Throughput.__init__() got an unexpected keyword "
            "argument 'windw'; did you mean `window`?") in done.stderr
    done = digits(tmp_path, "--no-lint", pipe=edited_digits(tmp_path, "torch.optim.AdamQ"))
    assert done.returncode == 1
    assert "cannot resolve 'torch.optim.AdamQ': `torch.optim` has no attribute 'AdamQ'; did you mean `Adam`?" \
        in done.stderr


def test_resume_continues_to_raised_limits_and_says_when_nothing_is_left(tmp_path: Path) -> None:
    first = digits(tmp_path, "--set", "trainer.max_epoch=1")
    assert first.returncode == 0, first.stderr
    assert "train.pipe: 45 steps, 1 epoch in" in first.stdout
    assert (tmp_path / "step-00000045" / "hookpipe-plan.json").is_file()

    same = digits(tmp_path, "--set", "trainer.max_epoch=1", "--resume", "latest")
    assert same.returncode == 1
    assert (f"nothing to train: {tmp_path / 'step-00000045'} ends a run after 45 steps (epoch 1), and "
            "trainer.max_epoch=1 ends there too; to train further, raise the limit: --set trainer.max_epoch=2"
            in same.stderr)

    more = digits(tmp_path, "--set", "trainer.max_epoch=2", "--set", "trainer.optimizer.lr=0.002",
                  "--resume", "latest")
    assert more.returncode == 0, more.stderr
    assert f"resuming {tmp_path / 'step-00000045'} after 45 steps (epoch 1); changed since the checkpoint:" \
        in more.stderr
    assert "  trainer.max_epoch: 1 -> 2\n" in more.stderr
    assert "  trainer.optimizer.lr: 0.001 -> 0.002\n" in more.stderr
    assert "  applied: the optimizer's lr is now 0.002" in more.stderr
    assert "train.pipe: 90 steps, 2 epochs in" in more.stdout
    assert f"(resumed from {tmp_path / 'step-00000045'})" in more.stdout
    # A changed lr makes it another run: it writes beside the first one's checkpoints, never over them.
    assert f"hookpipe run: this run writes to {tmp_path}/v1: " in more.stderr
    assert f"checkpoint {tmp_path / 'v1' / 'step-00000090'}" in more.stdout


def test_changes_that_cannot_resume_are_refused_with_a_way_to_start_from_the_weights(tmp_path: Path) -> None:
    first = digits(tmp_path, "--set", "trainer.max_step=5", "--set", "trainer.grad_accumulation=2")
    assert first.returncode == 0, first.stderr
    ckpt = tmp_path / "step-00000005"

    sgd = digits(tmp_path, "--set", "trainer.max_step=10", "--set", "trainer.grad_accumulation=2",
                 "--resume", "latest", pipe=edited_digits(tmp_path, "torch.optim.SGD"))
    assert sgd.returncode == 1
    assert (f"cannot resume {ckpt}: trainer.optimizer changed from torch.optim.AdamW to torch.optim.SGD, and an "
            "optimizer's state does not carry over to another type") in sgd.stderr
    assert f"--weights-from {ckpt}" in sgd.stderr
    assert "KeyError" not in sgd.stderr

    window = digits(tmp_path, "--set", "trainer.max_step=10", "--resume", "latest")
    assert window.returncode == 1
    assert (f"cannot resume {ckpt}: trainer.grad_accumulation changed from 2 to 1, and the checkpoint was written "
            "inside an accumulation window") in window.stderr

    shapes = digits(tmp_path, "--set", "trainer.max_step=10", "--set", "trainer.grad_accumulation=2",
                    "--set", "trainer.model.hidden=32", "--resume", "latest")
    assert shapes.returncode == 1
    assert f"cannot resume {ckpt}: the model's parameters changed (0.bias: [64] saved, [32] now;" in shapes.stderr
    assert "  trainer.model.hidden: 64 -> 32\n" in shapes.stderr
    assert "size mismatch" not in shapes.stderr

    fresh = digits(tmp_path, "--set", "trainer.max_step=3", "--weights-from", str(ckpt),
                   pipe=edited_digits(tmp_path, "torch.optim.SGD"))
    assert fresh.returncode == 0, fresh.stderr
    assert f"starting a new run from the weights of {ckpt}" in fresh.stderr
    assert "train.pipe: 3 steps, 1 epoch in" in fresh.stdout
    # The new run starts from the trained weights: its first validation is the old run's last.
    last = re.findall(r"validation after 5 steps \(epoch 0\): (accuracy=[0-9.]+)", first.stdout)
    assert last and f"validation after 0 steps (epoch 0): {last[-1]}" in fresh.stdout


LINTED = """use digits = "examples.digits.train"
trainer {
    max_step = 4
    grad_accumulation = 4
    model = digits.build_model()
    dataloader = digits.train_loader()
    optimizer = "torch.optim.SGD"(lr = 0.1)
    batch_processor = digits.Processor()
}
hook optimize = optimizer()
hook evaluate = validation(callback = digits.evaluate)
hook save = checkpoint(dir = "DIR")
loop { epoch { step { after {
    optimize -> evaluate every 3 steps
    save every 4 steps on main
} } } }
"""


def test_lint_runs_before_the_first_step(tmp_path: Path) -> None:
    pipe = tmp_path / "linted.pipe"
    pipe.write_text(LINTED.replace("DIR", str(tmp_path / "ckpt")))
    done = hookpipe("run", str(pipe))
    assert done.returncode == 0, done.stderr
    assert f"{pipe}:14:26: HP102 warning:" in done.stderr
    assert f"{pipe}:15:27: HP109 warning:" in done.stderr
    assert "hookpipe run: the lint runs before the first step; --no-lint turns it off" in done.stderr
    assert "linted.pipe: 4 steps" in done.stdout

    quiet = hookpipe("run", str(pipe), "--no-lint")
    assert quiet.returncode == 0 and "HP102" not in quiet.stderr

    # With two processes HP109 is a certain hang: an error, before anything starts.
    two = hookpipe("run", str(pipe), env={"WORLD_SIZE": "2", "RANK": "0"})
    assert two.returncode == 1
    assert f"{pipe}:15:27: HP109 error:" in two.stderr and "(2 processes are running)" in two.stderr


def test_an_import_failure_points_at_the_line_and_says_where_modules_come_from(tmp_path: Path) -> None:
    pipe = tmp_path / "typo.pipe"
    pipe.write_text(LINTED.replace("examples.digits.train", "examples.digits.trian").replace("DIR", str(tmp_path)))
    done = hookpipe("run", str(pipe), "--no-lint")
    assert done.returncode == 1
    assert f"{pipe}:1:1: HP002 error: `use digits`: " in done.stderr  # the line to fix, once
    assert "= help: modules are imported from" in done.stderr
    # tmp_path has no pyproject.toml or .git above it: the help says the file's folder stood in for a project's
    assert ("the .pipe file's folder: no pyproject.toml or .git above it marks a project, then the working "
            "directory") in done.stderr
    (tmp_path / "pyproject.toml").write_text("")
    marked = hookpipe("run", str(pipe), "--no-lint")
    assert "the project folder of the .pipe file, marked by pyproject.toml or .git, then the working" in marked.stderr


def test_the_python_api_finds_modules_by_the_same_rule_from_another_folder(tmp_path: Path) -> None:
    script = tmp_path / "train_digits.py"
    script.write_text(
        "from hookpipe.runtime import HookBasedTrainer\n"
        f"trainer = HookBasedTrainer.from_file({str(ROOT / DIGITS)!r}, overrides={{'trainer.max_step': '2', "
        f"'hook.save.dir': {str(tmp_path / 'ckpt')!r}}})\n"
        "trainer()\n"
        "print('steps', trainer.trainer_progress_state.global_step_id)\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "steps 2" in done.stdout


def test_resuming_the_end_of_a_run_that_stopped_early_says_so(tmp_path: Path) -> None:
    from tests.runtime.test_clean_stop import pipe

    path = tmp_path / "stop.pipe"
    path.write_text(pipe(tmp_path, "step = 1"))
    first = hookpipe("run", str(path), "--no-lint")
    assert first.returncode == 0, first.stderr
    assert "stopped early: asked at step 1" in first.stdout
    again = hookpipe("run", str(path), "--no-lint", "--resume", "latest")
    assert again.returncode == 1
    assert (f"nothing to train: {tmp_path / 'ckpt' / 'step-00000002'} ends a run that stopped early (asked at step 1); "
            f"to train on from its weights, start a new run: --weights-from {tmp_path / 'ckpt' / 'step-00000002'}"
            in again.stderr)


def test_sigterm_while_the_run_is_starting_says_so_and_exits_143() -> None:
    """Before the run's own handler (torch and accelerate still importing) a SIGTERM ended the process silently."""
    code = ("import os, signal, hookpipe.commands.run as command\n"
            "command.runtime_problem = lambda: os.kill(os.getpid(), signal.SIGTERM)  # the signal, while starting\n"
            "from hookpipe.cli import main\n"
            "raise SystemExit(main(['run', 'examples/digits/train.pipe']))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 143
    assert done.stderr.strip().splitlines()[-1] == "hookpipe run: terminated while starting (nothing trained)"
    assert "Traceback" not in done.stderr
