"""Every shipped example imports what it names and runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT, examples, run_cli_process


@pytest.mark.slow
@pytest.mark.parametrize("example", examples(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_check_resolve_imports_everything_an_example_names(example: Path) -> None:
    done = run_cli_process("check", "--resolve", str(example.relative_to(ROOT)), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{example.relative_to(ROOT)}: ok (plan "), done.stdout


@pytest.mark.slow
def test_check_resolve_reports_what_does_not_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pipe"
    bad.write_text('use m = "examples.nope"\ntrainer {\n    max_step = 1\n    model = m.build()\n}\n'
                   'hook h = "examples.digits.train.Missing"()\n')
    done = run_cli_process("check", "--resolve", str(bad), timeout=120)
    assert done.returncode == 1
    assert "bad.pipe:1:1: HP002 error: `use m`: " in done.stderr  # once, at the alias, not at `model`
    assert "HP002 error: trainer setting `model`" not in done.stderr
    assert "bad.pipe:6:10: HP002 error: hook type of `h`" in done.stderr
    assert "needs the trainer setting `dataloader`" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_all_scopes_example_runs(tmp_path: Path) -> None:
    done = run_cli_process("run", "examples/all_scopes.pipe", "--set", "trainer.max_epoch=1",
                           "--set", f"hook.save.dir={tmp_path / 'ckpt'}", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all_scopes.pipe: 32 steps, 1 epoch" in done.stdout
    assert (tmp_path / "ckpt" / "step-00000032").is_dir()


@pytest.mark.slow
def test_check_resolve_reports_a_keyword_the_factory_does_not_take(tmp_path: Path) -> None:
    # `run` would stop at once on it ("unexpected keyword argument"); check --resolve says so first.
    source = (ROOT / "examples/digits/train.pipe").read_text()
    bad = tmp_path / "train.pipe"
    bad.write_text(source.replace("digits.build_model(hidden = 64)", "digits.build_model(hiden = 64)")
                   .replace('"torch.optim.AdamW"(lr = 1e-3)', '"torch.optim.AdamW"(lr = 1e-3, weight_decay = 0.01)'))
    done = run_cli_process("check", "--resolve", str(bad), cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stdout
    assert ("train.pipe:10:5: HP003 error: trainer setting `model`: `examples.digits.train:build_model` takes no "
            "argument `hiden`; did you mean `hidden`?") in done.stderr
    assert done.stderr.count("HP003") == 1  # AdamW takes weight_decay: a keyword it accepts is not reported
    assert "Traceback" not in done.stderr
    run = run_cli_process("run", str(bad), cwd=ROOT, timeout=120)
    assert run.returncode == 1 and "takes no argument `hiden`" in run.stderr
    assert "not started: 1 error in what the file names" in run.stderr


@pytest.mark.slow
def test_a_misspelt_use_module_is_one_error_at_its_use_line(tmp_path: Path) -> None:
    # It was one error per value naming the alias (model, dataloader, batch_processor, ...), none at the `use`.
    source = (ROOT / "examples/digits/train.pipe").read_text()
    bad = tmp_path / "train.pipe"
    bad.write_text(source.replace('use digits = "examples.digits.train"', 'use digits = "examples.digits.trian"'))
    done = run_cli_process("check", "--resolve", str(bad), cwd=ROOT, timeout=120)
    assert done.returncode == 1
    assert done.stderr.count("error:") == 1, done.stderr
    assert "train.pipe:3:1: HP002 error: `use digits`: " in done.stderr and "examples.digits.trian" in done.stderr
