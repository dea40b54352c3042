"""``python -m hookpipe.runtime.run`` takes ``hookpipe run``'s options, with their help and rules."""

from __future__ import annotations

import argparse

import pytest

from hookpipe.commands import run as run_command
from hookpipe.runtime import run as run_module


def _cli_run_parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hookpipe")
    run_command.add_parser(top.add_subparsers())
    return top


def test_the_module_entry_point_has_the_cli_options_and_their_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run_module.main(["--help"])
    assert done.value.code == 0
    module_help = capsys.readouterr().out
    with pytest.raises(SystemExit):
        _cli_run_parser().parse_args(["run", "--help"])
    cli_help = capsys.readouterr().out
    options = cli_help[cli_help.index("options:"):]
    assert "--weights-from DIR|latest" in options and "start a new run (step 0" in options
    # The CLI alone starts processes (`--processes N`); the module entry point is what each started process runs.
    start = options.index("  --processes N")
    end = options.index("\n  --", start + 1) + 1 if "\n  --" in options[start + 1:] else len(options)
    assert "start N processes" in options[start:end]
    assert options[:start] + options[end:] == module_help[module_help.index("options:"):]


def test_the_module_entry_point_refuses_resume_with_weights_from(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run_module.main(["train.pipe", "--resume", "latest", "--weights-from", "latest"])
    assert done.value.code == 2
    assert "--resume and --weights-from exclude each other" in capsys.readouterr().err
