"""``render --diff REF`` draws or says every change ``hookpipe diff`` reports.

Found by a CI maintainer's trial: a hook's argument changed in an included file
(``max_norm`` 1.0 -> 0.5) and a trainer setting changed, and the picture was all
grey with nothing printed; a working tree that did not compile was called "HEAD".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_cli

HOOKS = 'hook clip = grad_clip(mode = "norm", max_norm = 1.0)\nhook optimize = optimizer()\n' \
        'hook save = checkpoint(dir = "runs/x")\n'
TRAIN = 'pipeline "resnet"\ninclude "common/hooks.pipe"\ntrainer {\n    max_step = 10_000\n}\n' \
        "loop { epoch { step { after { clip -> optimize -> save every 500 steps } } } }\n"


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed for render --diff (it is on every CI image)")
    root = tmp_path / "repo"
    (root / "configs" / "common").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / "configs" / "common" / "hooks.pipe").write_text(HOOKS)
    (root / "configs" / "train.pipe").write_text(TRAIN)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    monkeypatch.chdir(root)
    return root


def edit(path: str, old: str, new: str) -> None:
    text = Path(path).read_text()
    assert old in text
    Path(path).write_text(text.replace(old, new))


def node(dot: str, hook: str) -> str:
    return next(line for line in dot.splitlines() if re.match(rf"\s*a\d+ \[label=<<b>{hook}</b>", line))


def test_an_argument_change_in_an_included_file_is_purple_and_says_what_changed(repo: Path) -> None:
    edit("configs/common/hooks.pipe", "max_norm = 1.0", "max_norm = 0.5")
    result = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert result.code == 0, result.output
    dot = Path("out.dot").read_text()
    clip = node(dot, "clip")
    assert 'color="#9467bd"' in clip and "max_norm: 1.0 -&gt; 0.5" in clip, clip
    for other in ("optimize", "save"):
        assert "#9467bd" not in node(dot, other)
    assert "purple: arguments (or type, effects) changed" in dot  # the legend
    colours = {"#2ca02c", "#d62728", "#ff7f0e", "#1f77b4"}  # added, removed, moved, frequency
    assert "#9467bd" not in colours
    assert "note" not in result.err  # nothing the picture cannot show
    mermaid = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.mmd")
    assert mermaid.code == 0
    text = Path("out.mmd").read_text()
    assert re.search(r'a\d+\["<b>clip</b><br/>grad_clip<br/>max_norm: 1.0 -#gt; 0.5"\]:::changed', text), text
    assert "classDef changed " in text


def test_trainer_settings_the_picture_cannot_show_are_noted_in_it_and_printed(repo: Path) -> None:
    edit("configs/train.pipe", "max_step = 10_000", "max_step = 20_000\n    grad_accumulation = 2")
    result = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert result.code == 0, result.output
    note = "trainer settings changed, not drawn: grad_accumulation: 1 -> 2; max_step: 10000 -> 20000"
    assert f"hookpipe: note: {note}\n" in result.err, result.err
    dot = Path("out.dot").read_text()
    assert note.replace(">", "&gt;") in dot.splitlines()[1]  # under the legend, in the graph's label
    assert "#9467bd" not in dot.split("\n", 2)[2]  # no hook changed: nothing purple
    edit("configs/train.pipe", 'pipeline "resnet"', 'pipeline "resnet-2"')
    result = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.mmd")
    assert "hookpipe: note: pipeline name changed: resnet -> resnet-2\n" in result.err, result.err
    assert f"%% note: {note}\n" in Path("out.mmd").read_text()  # Mermaid: as comment lines, read as written


def test_values_in_notes_and_labels_are_escaped_and_cut(repo: Path) -> None:
    edit("configs/common/hooks.pipe", 'dir = "runs/x"', 'dir = "runs/\x1b[31m\u202e' + "y" * 300 + '"')
    edit("configs/train.pipe", "trainer {", 'trainer {\n    log_dir = "logs\u202e\x1b]8;;x"')
    result = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert result.code == 0, result.output
    dot = Path("out.dot").read_text()
    for text in (result.output, dot):
        assert "\x1b" not in text and "\u202e" not in text
    save = node(dot, "save")
    assert "dir: &quot;runs/x&quot; -&gt; &quot;runs/\\x1b[31m\\u202e" in save, save
    assert "y" * 60 not in save and "..." in save
    assert "log_dir: &quot;runs/logs&quot; -&gt; &quot;logs\\u202e\\x1b]8;;x&quot;" in dot.splitlines()[1]


def test_a_working_tree_that_does_not_compile_is_named_so_in_the_note_and_the_picture(repo: Path) -> None:
    edit("configs/common/hooks.pipe", "max_norm = 1.0", "max_norm = -1.0")
    result = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert result.code == 1  # the working tree's error
    assert "hookpipe: note: not compared: the working tree does not compile\n" in result.err, result.err
    assert "HEAD does not compile" not in result.err
    assert "not compared: the working tree does not compile" in Path("out.dot").read_text().splitlines()[1]


def test_a_revision_that_does_not_compile_is_named_by_its_revision(repo: Path) -> None:
    edit("configs/common/hooks.pipe", "max_norm = 1.0", "max_norm = -1.0")
    git(repo, "commit", "-q", "-am", "broken")
    edit("configs/common/hooks.pipe", "max_norm = -1.0", "max_norm = 1.0")
    result = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert result.code == 0
    assert "hookpipe: note: not compared: revision HEAD does not compile\n" in result.err, result.err


def test_a_new_file_and_an_unchanged_one_say_so(repo: Path) -> None:
    shutil.copy("configs/train.pipe", "configs/new.pipe")
    result = run_cli("render", "configs/new.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert "hookpipe: note: a new file: not in revision HEAD, so everything is added\n" in result.err, result.err
    assert "trainer settings" not in result.err
    result = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert "hookpipe: note: no change to the plan\n" in result.err


def test_a_changed_hook_that_is_not_attached_is_noted(repo: Path) -> None:
    edit("configs/common/hooks.pipe", "hook optimize", 'hook spare = checkpoint(dir = "a")\nhook optimize')
    git(repo, "commit", "-q", "-am", "spare")
    edit("configs/common/hooks.pipe", 'dir = "a"', 'dir = "b"')
    result = run_cli("render", "configs/train.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert "hookpipe: note: hooks not attached, so not drawn: `spare` changed\n" in result.err, result.err
