"""The stored parse tables: what lark builds, read back as JSON, and a lint that never imports lark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookpipe.dsl import grammar
from hookpipe.dsl.lalr import Tables
from hookpipe.dsl.terminals import Terminals
from tests.helpers import ROOT, run_cli_process


def test_stored_tables_read_back_as_lark_built_them(tmp_path: Path) -> None:
    lark = grammar.build_lark()
    tables, terms = Tables.from_lark(lark), Terminals.from_grammar(lark.terminals, grammar.grammar_text())
    path = tmp_path / "t.json"
    grammar._write(str(path), tables, terms)
    assert grammar._read(str(path)) == (tables, terms)
    # lark numbers the states differently on each build, so only the terminals compare across builds
    assert terms == grammar.terminals()


@pytest.mark.parametrize("damage", ["", "{", '{"tables": 1}', json.dumps({"tables": {}, "terminals": {}})])
def test_a_damaged_file_reads_as_missing(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(damage)
    assert grammar._read(str(path)) is None


def test_stored_rules_call_only_public_builder_methods(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    grammar._write(str(path), *grammar._built())
    data = json.loads(path.read_text())
    data["tables"]["rules"][0][3] = "__init__"
    path.write_text(json.dumps(data))
    assert grammar._read(str(path)) is None


def test_an_unwritable_folder_is_skipped(tmp_path: Path) -> None:
    grammar._write(str(tmp_path / "missing" / "t.json"), *grammar._built())  # no exception, nothing written
    assert not (tmp_path / "missing").exists()


@pytest.mark.slow
def test_lint_with_stored_tables_imports_neither_lark_nor_networkx(tmp_path: Path) -> None:
    """What the start-up figure in README rests on: a warm cache parses without lark."""
    probe = ("import sys\n"
             "sys.argv = ['hookpipe', 'lint', 'examples/digits/train.pipe']\n"
             "from hookpipe.cli import main\n"
             "code = main(sys.argv[1:])\n"
             "heavy = sorted(m for m in ('lark', 'networkx', 'torch', 'hookpipe.runtime', 'hookpipe.render', "
             "'hookpipe.lsp', 'rich') if m in sys.modules)\n"
             "print(code, heavy)\n")
    env = dict(os.environ, HOOKPIPE_CACHE_DIR=str(tmp_path))
    first = run_cli_process("lint", "examples/digits/train.pipe", env=env)
    assert first.returncode == 0, first.stderr
    assert len(list(tmp_path.glob("pipe-tables-*.json"))) == 1
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.stdout.splitlines()[-1] == "0 []", out.stderr
