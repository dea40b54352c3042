"""docs/ci.md's workflow and pre-commit examples name things that exist."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.helpers import ROOT

CI = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
BLOCKS = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", CI, re.S)]


def test_the_workflow_uses_the_action_with_its_declared_inputs_and_uploads_its_sarif() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    workflows = [b for b in BLOCKS if isinstance(b, dict) and "jobs" in b]
    steps = [s for w in workflows for job in w["jobs"].values() for s in job["steps"]]
    ours = [s for s in steps if str(s.get("uses", "")).startswith("hookpipe/hookpipe@")]
    assert ours, "docs/ci.md has no workflow that uses the action"
    for step in ours:
        assert set(step.get("with", {})) <= set(action["inputs"]), step
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "${{ steps.%s.outputs.sarif-file }}" % ours[0]["id"]
    assert "sarif-file" in action["outputs"]
    # every input is documented in the table
    for name in action["inputs"]:
        assert f"| `{name}` |" in CI, name


def test_the_pre_commit_rev_is_a_commit_that_provides_the_hooks() -> None:
    (config,) = [b for b in BLOCKS if isinstance(b, dict) and b.get("repos", [{}])[0].get("repo", "").startswith("https://")]
    repo = config["repos"][0]
    assert re.fullmatch(r"[0-9a-f]{40}", repo["rev"]), repo["rev"]
    shown = subprocess.run(["git", "show", f"{repo['rev']}:.pre-commit-hooks.yaml"], cwd=ROOT,
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    provided = {h["id"] for h in yaml.safe_load(shown.stdout)}
    assert {h["id"] for h in repo["hooks"]} <= provided
    lint = next(h for h in repo["hooks"] if h["id"] == "hookpipe-lint")
    assert lint.get("verbose") is True
