"""`hookpipe diff` when a side does not compile, how the sides are named, and `--git A..B`.

A user's working tree broke `train.pipe`; `diff --git HEAD` said it "does not
compile on the HEAD side (working tree)" (git's HEAD was the *other* side) and
then "lint: 0 introduced, 3 fixed": warnings that were only not computed, while
the error that broke the file counted for nothing. Comparing two commits
(`--git HEAD~2..HEAD~1`) was refused as "not a commit".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import CliResult, run_cli
from tests.test_diff import git, new_repo

#: Lints clean of errors but with two HP102 warnings: `every 10 steps` under grad_accumulation = 4.
WARNED = """trainer {
    max_epoch         = 3
    grad_accumulation = 4
}
hook clip     = grad_clip(max_norm = 1.0)
hook optimize = optimizer()
hook evaluate = validation(callback = "mypkg.evaluate")
hook save     = checkpoint(dir = "runs/x")
loop {
    epoch {
        step {
            after {
                clip
                optimize
                evaluate every 10 steps
                save     every 10 steps
            }
        }
    }
}
"""
#: WARNED with a misspelt hook: HP002, one error.
BROKEN = WARNED.replace("                clip\n", "                clipp\n")
#: WARNED with another misspelt hook.
BROKEN_ELSEWHERE = WARNED.replace("                optimize\n", "                optimise\n")
#: WARNED without its warnings: every 3 updates.
CLEAN = WARNED.replace("every 10 steps", "every 3 updates")


def commit(repo: Path, files: dict[str, str], message: str) -> None:
    """Write ``files`` (path -> text; an empty text removes the file) and commit everything."""
    for name, text in files.items():
        path = repo / name
        if text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif path.exists():
            path.unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return new_repo(tmp_path)


def diff(repo: Path, *args: str) -> CliResult:
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        return run_cli("diff", *args)
    finally:
        os.chdir(cwd)


def lint_of(result: CliResult) -> dict[str, list[str]]:
    """The JSON report's one file's lint findings, as ``CODE severity`` strings."""
    (entry,) = json.loads(result.out)["files"]
    return {kind: [f"{f['code']} {f['severity']}" for f in entry["lint"][kind]] for kind in ("introduced", "fixed")}


# --- a side that does not compile ---------------------------------------------------------------


def test_a_working_tree_that_breaks_a_file_introduces_its_errors_and_fixes_no_warning(repo: Path) -> None:
    commit(repo, {"train.pipe": WARNED}, "warned")
    (repo / "train.pipe").write_text(BROKEN, encoding="utf-8")
    text = diff(repo, "--git", "HEAD")
    assert text.code == 0
    assert "  lint: not compared (the working tree does not compile); errors: 1 introduced, 0 fixed" in text.out
    assert "HP102" not in text.out  # HEAD's warnings were not fixed: the working tree was never linted
    assert lint_of(diff(repo, "--git", "HEAD", "--format", "json")) == {"introduced": ["HP002 error"], "fixed": []}
    markdown = diff(repo, "--git", "HEAD", "--format", "markdown").out
    assert ("**Lint**: not compared (the working tree does not compile); errors: 1 introduced, 0 fixed"
            in markdown)
    assert "- fixed" not in markdown
    (repo / "train.pipe").write_text(CLEAN, encoding="utf-8")  # both sides compile: lint is compared again
    out = diff(repo, "--git", "HEAD").out
    assert "  lint: 0 introduced, 2 fixed" in out and "not compared" not in out


def test_a_working_tree_that_mends_a_file_fixes_its_errors_and_introduces_no_warning(repo: Path) -> None:
    commit(repo, {"train.pipe": BROKEN}, "broken")
    (repo / "train.pipe").write_text(WARNED, encoding="utf-8")
    text = diff(repo, "--git", "HEAD")
    assert "  lint: not compared (revision HEAD does not compile); errors: 0 introduced, 1 fixed" in text.out
    assert "HP102" not in text.out
    assert lint_of(diff(repo, "--git", "HEAD", "--format", "json")) == {"introduced": [], "fixed": ["HP002 error"]}


def test_when_both_sides_fail_the_errors_are_compared_one_by_one(repo: Path) -> None:
    commit(repo, {"train.pipe": BROKEN}, "broken")
    (repo / "train.pipe").write_text(BROKEN_ELSEWHERE, encoding="utf-8")
    out = diff(repo, "--git", "HEAD").out
    assert ("  lint: not compared (revision HEAD and the working tree do not compile); errors: 1 introduced, "
            "1 fixed") in out
    assert "    + train.pipe:14: HP002 error: unknown hook `optimise`" in out
    assert "    - HEAD:train.pipe:13: HP002 error: unknown hook `clipp`" in out  # the revision's line
    (repo / "train.pipe").write_text(BROKEN, encoding="utf-8")  # the same error on both sides: not new
    assert "errors: 0 introduced, 0 fixed" in diff(repo, "--git", "HEAD").out


# --- the sides' names -----------------------------------------------------------------------------


def test_the_sides_are_named_the_revision_and_the_working_tree(repo: Path) -> None:
    commit(repo, {"train.pipe": WARNED}, "warned")
    (repo / "train.pipe").write_text(BROKEN, encoding="utf-8")
    out = diff(repo, "--git", "HEAD").out
    assert "train.pipe: does not compile in the working tree" in out
    assert "  errors in the working tree:" in out
    assert "HEAD side" not in out and "BASE side" not in out
    markdown = diff(repo, "--git", "HEAD", "--format", "markdown").out
    assert "#### `train.pipe`: does not compile in the working tree" in markdown
    assert "**The working tree does not compile:**" in markdown
    commit(repo, {"train.pipe": BROKEN}, "broken")
    (repo / "train.pipe").write_text(WARNED, encoding="utf-8")
    markdown = diff(repo, "--git", "HEAD", "--format", "markdown").out
    assert "#### `train.pipe`: does not compile at revision `HEAD`" in markdown
    assert "**Revision `HEAD` does not compile:**" in markdown


def test_two_files_keep_their_base_and_head_names(tmp_path: Path) -> None:
    (tmp_path / "a.pipe").write_text(WARNED, encoding="utf-8")
    (tmp_path / "b.pipe").write_text(BROKEN, encoding="utf-8")
    out = diff(tmp_path, "a.pipe", "b.pipe").out
    assert "a.pipe -> b.pipe: does not compile on the HEAD side (b.pipe)" in out
    assert "  lint: not compared (HEAD side (b.pipe) does not compile); errors: 1 introduced, 0 fixed" in out


# --- --git A..B -----------------------------------------------------------------------------------


@pytest.fixture
def history(repo: Path) -> Path:
    """Three commits: WARNED; CLEAN with an added file; BROKEN. The working tree then differs from all."""
    commit(repo, {"train.pipe": WARNED}, "one")
    commit(repo, {"train.pipe": CLEAN, "extra.pipe": WARNED}, "two")
    commit(repo, {"train.pipe": BROKEN}, "three")
    (repo / "train.pipe").write_text(BROKEN_ELSEWHERE, encoding="utf-8")
    (repo / "untracked.pipe").write_text(WARNED, encoding="utf-8")
    return repo


def test_two_commits_are_compared_from_git_alone(history: Path) -> None:
    done = diff(history, "--git", "HEAD~2..HEAD~1", "--exit-code")
    assert done.code == 1 and done.err == ""
    lines = done.out.splitlines()
    assert lines[0] == "hookpipe diff HEAD~2 -> HEAD~1: 2 files compared: 1 changed, 1 added"
    assert "extra.pipe: added" in lines
    assert "    timing   evaluate: every 10 steps -> every 3 updates  (train.pipe:15)" in lines
    assert "  lint: 0 introduced, 2 fixed" in lines
    assert "untracked" not in done.out and "optimise" not in done.out  # the working tree is no side
    document = json.loads(diff(history, "--git", "HEAD~2..HEAD~1", "--format", "json").out)
    assert (document["base"], document["head"]) == ("HEAD~2", "HEAD~1")


def test_a_commit_that_breaks_a_file_is_named_by_its_revision(history: Path) -> None:
    out = diff(history, "--git", "HEAD~1..HEAD", "train.pipe").out
    assert "train.pipe: does not compile at revision HEAD" in out
    assert "  lint: not compared (revision HEAD does not compile); errors: 1 introduced, 0 fixed" in out
    assert diff(history, "--git", "HEAD~1..", "train.pipe").out == out  # as in git, an empty side is HEAD


def test_includes_are_read_from_each_commit(repo: Path) -> None:
    main = ('include "common.pipe"\ntrainer { max_step = 10 }\nhook optimize = optimizer()\n'
            "loop {\n    epoch {\n        step {\n            after {\n                clip\n"
            "                optimize\n            }\n        }\n    }\n}\n")
    commit(repo, {"common.pipe": "hook clip = grad_clip(max_norm = 1.0)\n", "main.pipe": main}, "one")
    commit(repo, {"common.pipe": "hook clip = grad_clip(max_norm = 0.5)\n"}, "two")
    (repo / "common.pipe").write_text("hook clip = grad_clip(max_norm = 0.25)\n", encoding="utf-8")
    out = diff(repo, "--git", "HEAD~1..HEAD").out
    assert "max_norm: 1.0 -> 0.5" in out and "0.25" not in out


def test_a_path_on_one_commit_only_is_added_or_removed_and_on_neither_refused(history: Path) -> None:
    assert "extra.pipe: removed" in diff(history, "--git", "HEAD~1..HEAD~2", "extra.pipe").out
    done = diff(history, "--git", "HEAD~2..HEAD~1", "untracked.pipe")
    assert done.code == 2 and "untracked.pipe: no such file or folder at HEAD~2 or HEAD~1" in done.err


@pytest.mark.parametrize(("spec", "message"), [
    ("HEAD~2...HEAD", "A...B is not supported"),
    ("HEAD~2..HEAD~1..HEAD", "is not a revision or a range"),
    ("no-such..HEAD", "`no-such` is not a commit"),
    ("HEAD..-rf", "starts with `-`"),
])
def test_bad_ranges_are_usage_errors(history: Path, spec: str, message: str) -> None:
    done = diff(history, f"--git={spec}")
    assert done.code == 2 and done.out == ""
    assert message in done.err
