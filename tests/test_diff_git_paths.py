"""`hookpipe diff --git`: which file and line a report points at, renames, fragments named alone.

The trial: a removed attachment cited the revision's line 18 under the working
tree's path, where line 18 was another line; run from `configs/common`, `..`
printed the runner's absolute paths into the comment while `.` printed relative
ones; `git mv` of a pipeline listed everything removed and everything added and
failed `--exit-code`; `diff --git main configs/common` compiled the included
fragment alone ("does not compile" on both sides) and showed nothing of its change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import ROOT, CliResult, run_cli
from tests.test_diff import git, new_repo
from tests.test_diff_sides import commit

HOOKS = """hook clip     = grad_clip(max_norm = 1.0)
hook optimize = optimizer()
hook evaluate = validation(callback = "mypkg.evaluate")
hook save     = checkpoint(dir = "runs/x")
"""
TRAIN = """include "common/hooks.pipe"

trainer {
    max_step = 1_000
}

loop {
    epoch {
        step {
            after {
                clip -> optimize
                evaluate every 200 steps
                save     every 500 steps
            }
        }
    }
}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """``configs/train.pipe`` and ``configs/finetune.pipe`` both include ``configs/common/hooks.pipe``."""
    root = new_repo(tmp_path)
    commit(root, {"configs/common/hooks.pipe": HOOKS, "configs/train.pipe": TRAIN,
                  "configs/finetune.pipe": TRAIN.replace("1_000", "2_000")}, "base")
    return root


def diff(cwd: Path, *args: str) -> CliResult:
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return run_cli("diff", *args)
    finally:
        os.chdir(here)


def test_a_location_on_the_revision_side_is_labelled_with_the_revision(repo: Path) -> None:
    # the working tree drops `save` and adds two lines above, so line 13 now holds `clip -> optimize`
    train = repo / "configs" / "train.pipe"
    train.write_text(TRAIN.replace("                save     every 500 steps\n", "").replace(
        "trainer {", "# tuned\n# again\ntrainer {"), encoding="utf-8")
    text = diff(repo, "--git", "HEAD").out
    assert "    removed  save from 4 (every 500 steps)  (HEAD:configs/train.pipe:13)" in text, text
    assert "(configs/train.pipe:13)" not in text
    markdown = diff(repo, "--git", "HEAD", "--format", "markdown").out
    assert "- removed `save` from position 4, `every 500 steps` (`HEAD:configs/train.pipe:13`)" in markdown
    document = json.loads(diff(repo, "--git", "HEAD", "--format", "json").out)
    jsonschema.validate(document, json.loads((ROOT / "docs" / "diff.schema.json").read_text(encoding="utf-8")))
    (entry,) = [f for f in document["files"] if f["file"] == "configs/train.pipe"]
    assert [a["where"] for a in entry["phases"][0]["removed"]] == ["HEAD:configs/train.pipe:13"]


def test_paths_are_written_from_the_repository_top_wherever_the_command_runs(repo: Path) -> None:
    (repo / "configs" / "common" / "hooks.pipe").write_text(HOOKS.replace("1.0", "0.5"), encoding="utf-8")
    at_top = diff(repo, "--git", "HEAD", ".", "--format", "markdown")
    below = diff(repo / "configs" / "common", "--git", "HEAD", "..", "--format", "markdown")
    assert at_top.code == below.code == 0
    assert below.out == at_top.out
    assert str(repo) not in below.out and "../" not in below.out
    assert "- changed `clip` (`configs/common/hooks.pipe:1`): `max_norm`: `1.0` → `0.5`" in below.out


def test_a_fragment_named_alone_is_compared_through_the_files_that_include_it(repo: Path) -> None:
    (repo / "configs" / "common" / "hooks.pipe").write_text(HOOKS.replace("1.0", "0.5"), encoding="utf-8")
    for cwd, path in ((repo, "configs/common"), (repo, "configs/common/hooks.pipe"), (repo / "configs" / "common", ".")):
        done = diff(cwd, "--git", "HEAD", path, "--exit-code")
        assert done.code == 1 and "does not compile" not in done.out, done.out
        assert done.out.splitlines()[0] == "hookpipe diff HEAD -> working tree: 2 files compared: 2 changed"
        assert done.out.count("    changed clip (configs/common/hooks.pipe:1): max_norm: 1.0 -> 0.5") == 2
    commit(repo, {"configs/common/hooks.pipe": HOOKS.replace("1.0", "0.5")}, "clip")
    done = diff(repo, "--git", "HEAD~1..HEAD", "configs/common/hooks.pipe")
    assert "configs/finetune.pipe: plan changed" in done.out and "configs/train.pipe: plan changed" in done.out


def test_a_renamed_pipeline_with_the_same_plan_is_one_rename_not_removed_and_added(repo: Path) -> None:
    git(repo, "mv", "configs/finetune.pipe", "configs/finetune_v2.pipe")
    done = diff(repo, "--git", "HEAD", "--exit-code")
    assert done.code == 0, done.out
    assert done.out.splitlines()[0] == "hookpipe diff HEAD -> working tree: no change to the plan (2 files compared, " \
                                       "1 renamed)"
    assert "configs/finetune_v2.pipe: renamed from configs/finetune.pipe, no change to the plan (plan " in done.out
    assert "removed" not in done.out and "added" not in done.out
    markdown = diff(repo, "--git", "HEAD", "--format", "markdown").out
    assert "- `configs/finetune_v2.pipe` (renamed from `configs/finetune.pipe`)" in markdown
    document = json.loads(diff(repo, "--git", "HEAD", "--format", "json").out)
    assert document["changed"] is False and document["summary"]["renamed"] == 1
    (entry,) = [f for f in document["files"] if f["file"] == "configs/finetune_v2.pipe"]
    assert (entry["status"], entry["renamed_from"]) == ("unchanged", "configs/finetune.pipe")
    # renamed and changed: a different plan is still a file removed and one added
    moved = repo / "configs" / "finetune_v2.pipe"
    moved.write_text(moved.read_text().replace("2_000", "3_000"), encoding="utf-8")
    done = diff(repo, "--git", "HEAD", "--exit-code")
    assert done.code == 1 and "configs/finetune.pipe: removed" in done.out


def test_a_renamed_files_old_name_is_escaped(tmp_path: Path) -> None:
    """Folders compared file by file pair renames too; the old name is a file's name, so escaped."""
    (tmp_path / "pyproject.toml").write_text("")
    hostile = "x\n::error::FORGED\u202e.pipe"
    for side, name in (("base", hostile), ("head", "train.pipe")):
        (tmp_path / side).mkdir()
        (tmp_path / side / name).write_text(TRAIN.replace('include "common/hooks.pipe"', HOOKS), encoding="utf-8")
    for fmt in ("text", "markdown"):
        done = run_cli("diff", str(tmp_path / "base"), str(tmp_path / "head"), "--format", fmt, "--exit-code")
        assert done.code == 0, done.out
        assert "renamed from" in done.out and "x\\n::error::FORGED\\u202e.pipe" in done.out
        assert "\u202e" not in done.out and not any(line.startswith("::") for line in done.out.splitlines())
