"""``hookpipe diff``: plans compared, not text; Markdown fixtures, JSON schema, git revisions, hostile values.

Each folder under ``tests/fixtures/diff`` holds ``base/`` and ``head/`` (the two
sides) and ``expected.md``, the pull-request comment ``hookpipe diff base head
--format markdown`` prints from inside that folder. ``HOOKPIPE_UPDATE_GOLDEN=1``
rewrites them (then review the diff).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from hookpipe.commands.diff_formats import to_markdown
from hookpipe.compiler import compile_text
from hookpipe.compiler.plan import Guard
from hookpipe.compiler.plan_diff import AttachmentRef, FileDiff, PhaseDiff, first_firings
from tests.helpers import FIXTURES, ROOT, UPDATE, run_cli

CASES = FIXTURES / "diff"
#: Cases whose plans are equal: --exit-code exits 0 for them, 1 for every other case.
UNCHANGED = {"formatting_only", "order_moved"}


def cases() -> list[str]:
    found = sorted(p.name for p in CASES.iterdir() if (p / "base").is_dir())
    assert len(found) >= 9
    return found


def diff_in(case: str, *args: str) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(CASES / case)
    try:
        result = run_cli("diff", "base", "head", *args)
    finally:
        os.chdir(cwd)
    assert result.err == "", result.err
    return result.code, result.out


@pytest.mark.parametrize("case", cases())
def test_markdown_matches_the_expected_comment(case: str) -> None:
    code, out = diff_in(case, "--format", "markdown")
    assert code == 0  # without --exit-code, a change is not a failure
    expected = CASES / case / "expected.md"
    if UPDATE:
        expected.write_text(out, encoding="utf-8")
    assert out == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", cases())
def test_exit_code_reports_a_changed_plan_or_a_failing_side(case: str) -> None:
    code, _ = diff_in(case, "--exit-code")
    assert code == (0 if case in UNCHANGED else 1)


def test_the_cases_show_what_the_issue_asks_for() -> None:
    """The golden files are reviewed once; these lines say what each must keep showing."""
    def md(case: str) -> str:
        return (CASES / case / "expected.md").read_text(encoding="utf-8")

    assert "- moved `trace` 5 → 3" in md("reordered_chain")
    assert "HEAD: `written order at head/train.pipe:14`" in md("reordered_chain")
    assert "no change to the plan" in md("order_moved") and "no change to the plan" in md("formatting_only")
    assert "`` `order` statement at head/train.pipe:15 ``" in md("order_flipped")
    assert "fires at steps 200, 400, 600 → steps 100, 600, 1100" in md("frequency")
    assert "read by `trainer.lr_scheduler.total_steps`" in md("frequency")
    include = md("include_edit")
    assert include.count("- changed `clip` (`head/common.pipe:6`): `max_norm`: `1.0` → `0.5`") == 2
    assert "#### `large.pipe`" in include and "#### `small.pipe`" in include and "common.pipe`:" not in include
    assert "HEAD: `effect rule: metrics (write < read)`" in md("effect_moves")
    assert "#### `new.pipe`: added" in md("added_removed") and "#### `old.pipe`: removed" in md("added_removed")
    assert "**HEAD side (`head`) does not compile:**" in md("compile_error") and "HP007 error" in md("compile_error")
    assert "introduced ``head/train.pipe:28: HP105 warning" in md("combined")


def test_json_output_matches_its_documented_schema() -> None:
    schema = json.loads((ROOT / "docs" / "diff.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    for case in cases():
        _, out = diff_in(case, "--format", "json")
        document = json.loads(out)
        validator.validate(document)
        assert document["changed"] == (case not in UNCHANGED)
    _, out = diff_in("combined", "--format", "json")
    phase = json.loads(out)["files"][0]["phases"][0]
    assert phase["phase"] == "step.after"
    assert [m["hook"] for m in phase["moved"]] == ["save"]
    assert phase["moved"][0]["flips"][0]["head_reasons"] == ["effect rule: metrics (write < read)"]


def test_text_output_lists_the_changes() -> None:
    code, out = diff_in("combined")
    assert code == 0
    assert "added    losses at 6 (every 10 updates, on main)  (head/train.pipe:26)" in out
    assert "removed  speed from 5 (every 50 steps, on main)  (base/train.pipe:26)" in out
    assert "moved    save 4 -> 5  (head/train.pipe:25)" in out
    assert "grad_accumulation: 1 -> 2" in out


def test_first_firings_use_the_guard_logic() -> None:
    assert first_firings(Guard("step", 500, 100)) == "steps 100, 600, 1100"
    assert first_firings(Guard("epoch", 1, 1, at_end=True)) == "epochs 1, 2, 3, and at the end"
    assert first_firings(Guard()) == "every time the phase runs"
    # The epoch's batches start again every epoch, a validation run's every run.
    assert first_firings(Guard("batch", 3, 3)) == "batches 3, 6, 9 of each epoch"
    assert first_firings(Guard("batch", 2, 3, until=4, at_end=True)) == (
        "batches 3 of each epoch, and at each epoch's last batch")
    assert first_firings(Guard("batch", 5, 5), validation=True) == "batches 5, 10, 15 of each validation run"


def test_long_lists_fold_into_details() -> None:
    phase = PhaseDiff("step", "after", added=[AttachmentRef(f"h{i}", 1, i, "", f"t.pipe:{i}") for i in range(1, 9)])
    out = to_markdown([FileDiff("t.pipe", "changed", phases=[phase])], "a", "b")
    shown_first = out.split("<details>")[0]
    assert shown_first.count("- added `h") == 5
    assert "<details><summary>3 more changes in this phase</summary>" in out
    assert out.count("- added `h") == 8 and out.index("</details>") > out.index("- added `h8`")


def test_reordered_hook_declarations_keep_the_hash() -> None:
    head = "trainer { max_step = 9 }\nloop { epoch { step { after { a -> b } } } }\n"
    one = compile_text("hook a = grad_clip(max_norm = 1.0)\nhook b = optimizer()\n" + head)
    two = compile_text("hook b = optimizer()\nhook a = grad_clip(max_norm = 1.0)\n" + head)
    assert one.content_hash == two.content_hash
    three = compile_text("hook b = optimizer()\nhook a = grad_clip(max_norm = 2.0)\n" + head)
    assert three.content_hash != one.content_hash


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.pipe").write_text("trainer { max_step = 1 }\n")
    assert run_cli("diff", str(tmp_path / "a.pipe")).code == 2
    assert run_cli("diff", str(tmp_path / "a.pipe"), str(tmp_path / "missing.pipe")).code == 2
    assert run_cli("diff", str(tmp_path / "a.pipe"), str(tmp_path)).code == 2
    assert run_cli("diff", "--format", "yaml", str(tmp_path / "a.pipe"), str(tmp_path / "a.pipe")).code == 2


def test_diff_never_imports_the_code_a_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "evil_diff_hooks.py").write_text("import pathlib\npathlib.Path(__file__).with_name('ran').touch()\n"
                                                 "class H:\n    effects = {'writes': ['metrics']}\n")
    body = ('use evil = "evil_diff_hooks"\ntrainer { max_step = STEPS }\nhook h = evil.H()\n'
            "loop { epoch { step { after { h } } } }\n")
    (tmp_path / "a.pipe").write_text(body.replace("STEPS", "1"))
    (tmp_path / "b.pipe").write_text(body.replace("STEPS", "2"))
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run_cli("diff", str(tmp_path / "a.pipe"), str(tmp_path / "b.pipe"), "--format", "json")
    assert result.code == 0 and json.loads(result.out)["files"][0]["status"] == "changed"
    assert not (tmp_path / "ran").exists()


def code_spans_removed(markdown: str) -> str:
    return re.sub(r"(`+)(.+?)\1", "", markdown)


def test_hostile_values_stay_inside_code_spans(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    body = ('trainer {{ max_step = 10 }}\nuse my = "project.hooks"\n'
            'hook h = my.H(note = "{}")\nloop {{ epoch {{ step {{ after {{ h }} }} }} }}\n')
    (tmp_path / "a.pipe").write_text(body.format("plain"))
    (tmp_path / "b.pipe").write_text(body.format("``` x\\n## pwned <img src=x onerror=alert(1)> @team \\u0007"))
    result = run_cli("diff", str(tmp_path / "a.pipe"), str(tmp_path / "b.pipe"), "--format", "markdown")
    assert result.code == 0
    assert "\n## pwned" not in result.out and "\x07" not in result.out
    outside = code_spans_removed(result.out)
    assert "<img" not in outside and "@team" not in outside and "pwned" not in outside
    assert "<img" in result.out  # shown, as text inside a code span


# --- git ---------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout


def new_repo(tmp_path: Path) -> Path:
    """An empty repository (branch main) with a ``pyproject.toml``, not committed yet."""
    if shutil.which("git") is None:
        pytest.fail("git is needed for diff --git (it is on every CI image)")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose last commit is the include_edit and added_removed cases' HEAD side."""
    root = new_repo(tmp_path)
    for case, side in (("include_edit", "base"), ("added_removed", "base")):
        shutil.copytree(CASES / case / side, root / "pipes", dirs_exist_ok=True)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    shutil.rmtree(root / "pipes")
    for case, side in (("include_edit", "head"), ("added_removed", "head")):
        shutil.copytree(CASES / case / side, root / "pipes", dirs_exist_ok=True)
    git(root, "rm", "-r", "-q", "--cached", "pipes")  # same size and mtime: make git hash the files again
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "head")
    return root


def in_repo(root: Path, *args: str) -> tuple[int, str, str]:
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = run_cli(*args)
    finally:
        os.chdir(cwd)
    return result.code, result.out, result.err


def test_git_head_1_compares_the_working_tree_with_the_revision(repo: Path) -> None:
    code, out, err = in_repo(repo, "diff", "--git", "HEAD~1", "--format", "markdown", "--exit-code")
    assert code == 1, err
    assert "### hookpipe diff: 5 files compared: 2 changed, 1 added, 1 removed, 1 unchanged" in out
    assert "Plans of `HEAD~1` compared with `working tree`" in out
    assert out.count("- changed `clip` (`pipes/common.pipe:6`): `max_norm`: `1.0` → `0.5`") == 2
    assert "#### `pipes/new.pipe`: added" in out and "#### `pipes/old.pipe`: removed" in out
    assert "removed `evaluate` from position 2, `every 200 steps` (`HEAD~1:pipes/old.pipe:15`)" in out
    code, out, _ = in_repo(repo, "diff", "--git", "HEAD", "pipes", "--exit-code")
    assert code == 0 and "no change to the plan (4 files compared)" in out, out


def test_includes_at_the_revision_are_read_from_the_revision(repo: Path) -> None:
    common = repo / "pipes" / "common.pipe"
    common.write_text(common.read_text().replace("max_norm = 0.5", "max_norm = 0.25"))  # not committed
    code, out, _ = in_repo(repo, "diff", "--git", "HEAD", "--exit-code")
    assert code == 1
    assert out.count("max_norm: 0.5 -> 0.25") == 2


def test_a_broken_working_tree_is_named_as_the_working_tree_not_as_head(repo: Path) -> None:
    common = repo / "pipes" / "common.pipe"
    common.write_text(common.read_text().replace("max_norm = 0.5", "max_norm = -0.5"))  # not committed
    code, out, _ = in_repo(repo, "diff", "--git", "HEAD", "pipes/small.pipe")
    assert code == 0
    assert "does not compile in the working tree" in out, out
    assert "errors in the working tree:" in out
    assert "BASE side" not in out and "HEAD side" not in out  # git's HEAD, the revision here, compiles


def test_render_diff_colours_the_head_graph(repo: Path) -> None:
    shutil.copy(CASES / "combined" / "base" / "train.pipe", repo / "train.pipe")
    git(repo, "add", "train.pipe")
    git(repo, "commit", "-q", "-m", "combined")
    shutil.copy(CASES / "combined" / "head" / "train.pipe", repo / "train.pipe")
    code, out, err = in_repo(repo, "render", "train.pipe", "--diff", "HEAD", "-o", "out.dot")
    assert code == 0, err
    dot = (repo / "out.dot").read_text()
    def node(name: str) -> str:  # the first node drawn for the hook (step.after comes before loop.after)
        return next(line for line in dot.splitlines() if re.match(rf"\s*a\d+ \[label=<<b>{name}</b>", line))

    assert 'color="#2ca02c"' in node("losses")  # added: green
    assert 'color="#ff7f0e"' in node("save")  # moved: orange
    assert "dashed" in node("speed") and 'color="#d62728"' in node("speed")  # removed: dashed red
    assert "#ff7f0e" not in node("evaluate") and "#2ca02c" not in node("evaluate")
    assert 'color="#1f77b4"' in node("evaluate")  # its frequency changed: blue
    assert "every 400 steps (was every 200 steps)" in node("evaluate")
    assert "#1f77b4" not in node("score")  # neither moved nor retimed
    assert "green: added" in dot
    edges = [line for line in dot.splitlines() if " -> " in line]
    assert any('color="#2ca02c"' in e for e in edges)  # HEAD's new edges (score -> save, save -> losses)
    assert any('color="#d62728"' in e and "dashed" in e for e in edges)  # BASE's gone ones (save -> speed)
    code, _, err = in_repo(repo, "render", "train.pipe", "--diff=--output=x", "-o", "out.dot")
    assert code == 2 and "starts with `-`" in err


@pytest.mark.parametrize("revision", ["-rf", "--output=/tmp/x", "HEAD\nx", "HEAD x", "no-such-branch", ""])
def test_unsafe_or_unknown_revisions_are_usage_errors(repo: Path, revision: str) -> None:
    code, out, err = in_repo(repo, "diff", f"--git={revision}")
    assert code == 2 and out == ""
    assert "hookpipe: error:" in err


def test_paths_outside_the_repository_are_usage_errors(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.pipe").write_text("trainer { max_step = 1 }\n")
    code, out, err = in_repo(repo, "diff", "--git", "HEAD", str(tmp_path / "outside.pipe"))
    assert code == 2 and out == "" and "outside the repository" in err
    code, _, err = in_repo(repo, "diff", "--git", "HEAD", "../..")
    assert code == 2


def test_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.pipe").write_text("trainer { max_step = 1 }\n")
    env_dir = os.environ.get("GIT_CEILING_DIRECTORIES")
    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path.parent)
    try:
        code, _, err = in_repo(tmp_path, "diff", "--git", "HEAD")
    finally:
        if env_dir is None:
            del os.environ["GIT_CEILING_DIRECTORIES"]
        else:
            os.environ["GIT_CEILING_DIRECTORIES"] = env_dir
    assert code == 2 and "git repository" in err


def test_a_symlink_at_the_revision_inside_the_repository_is_followed(repo: Path) -> None:
    os.symlink("common.pipe", repo / "pipes" / "alias.pipe")
    (repo / "pipes" / "via.pipe").write_text('include "alias.pipe"\ntrainer { max_step = 1 }\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "alias")
    (repo / "pipes" / "alias.pipe").unlink()  # the working tree no longer has it: HEAD's side still does
    code, out, _ = in_repo(repo, "diff", "--git", "HEAD", "pipes/via.pipe", "--format", "json")
    (entry,) = json.loads(out)["files"]
    assert [e["side"] for e in entry["errors"]] == ["head"]  # HEAD's include is gone; BASE's resolved


def test_a_symlink_at_the_revision_leaving_the_repository_is_refused(repo: Path) -> None:
    os.symlink("/etc/passwd", repo / "pipes" / "leak.pipe")
    (repo / "pipes" / "inc.pipe").write_text('include "leak.pipe"\ntrainer { max_step = 1 }\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    (repo / "pipes" / "leak.pipe").unlink()
    code, out, _ = in_repo(repo, "diff", "--git", "HEAD", "pipes/inc.pipe", "--format", "json")
    document = json.loads(out)
    (entry,) = [f for f in document["files"] if f["file"] == "pipes/inc.pipe"]
    (base_errors,) = [e for e in entry["errors"] if e["side"] == "base"]
    assert any(e["code"] == "HP010" and "leaves the project root" in e["message"] for e in base_errors["errors"])
    assert "root:" not in out  # nothing of /etc/passwd was read


def test_a_markdown_comment_stays_under_githubs_limit_with_a_note(tmp_path: Path) -> None:
    """150 files, each with one changed argument: about 300,000 characters before the cut."""
    base, head = tmp_path / "base", tmp_path / "head"
    for side, norm in ((base, "1.0"), (head, "0.5")):
        side.mkdir()
        for i in range(150):
            (side / f"train_{i:03d}_{'x' * 60}.pipe").write_text(
                "trainer { max_step = 10 }\n"
                + "".join(f"hook clip{j} = grad_clip(max_norm = {norm})\n" for j in range(12))
                + "hook optimize = optimizer()\n"
                + "loop { epoch { step { after { " + " -> ".join(f"clip{j}" for j in range(12)) + " -> optimize } } } }\n")
    result = run_cli("diff", str(base), str(head), "--format", "markdown")
    assert result.code == 0, result.err
    # what the comment workflow of docs/ci.md posts (a byte count), under GitHub's 65,536 characters
    assert 59_000 < len(result.out.encode("utf-8")) <= 60_000
    assert result.out.startswith("<!-- hookpipe diff -->\n### hookpipe diff: 150 files compared: 150 changed")
    assert re.search(r"\*\*[\d,]+ more characters not shown:\*\* a comment holds at most 60,000 bytes here; "
                     r"run `hookpipe diff` for the whole report\.\n$", result.out)
    assert result.out.count("<details><summary>") == result.out.count("</details>")


def test_folders_parse_each_file_once_however_many_include_it(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """File i includes every later one: parsed per includer, 2 x 20 files cost 2 x 210 parses."""
    import hookpipe.lint.runner as runner

    parsed: list[str] = []
    real = runner.parse_text

    def counting(text: str, path: str) -> object:
        parsed.append(path)
        return real(text, path)

    monkeypatch.setattr(runner, "parse_text", counting)
    (tmp_path / "pyproject.toml").write_text("")
    for side in ("base", "head"):
        folder = tmp_path / side
        folder.mkdir()
        for i in range(20):
            includes = "".join(f'include "f{j:02d}.pipe"\n' for j in range(i + 1, 20))
            (folder / f"f{i:02d}.pipe").write_text(includes + f"hook h{i} = loss_log(window = {i + 2})\n")
    result = run_cli("diff", str(tmp_path / "base"), str(tmp_path / "head"))
    assert result.code == 0, result.err
    assert sorted(parsed) == sorted(set(parsed)) and len(parsed) == 40
