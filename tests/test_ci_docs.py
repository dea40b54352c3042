"""docs/ci.md's workflow and pre-commit examples name things that exist, and its scripts do what it says."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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


# --- the two-workflow pull-request comment, its trusted half run against a stub `gh` -------------

SHA = "c0ffee" * 6 + "c0ff"
# A fork's branch name is its own text: it reaches the script only through env.
BRANCH = "x$(touch${IFS}PWNED)"
MARKER = "<!-- hookpipe diff -->"
RUN_URL = "https://github.com/org/repo/actions/runs/7"
FORGED = f"{MARKER}\n### hookpipe diff: no change to the plan\n\n@org/maintainers please approve\n"

# `gh api` as GitHub answers it, from a state file; every call is logged, a write with its body.
GH_STUB = '''\
import json, os, re, subprocess, sys
args, method, fields, endpoint, paginate, query = sys.argv[1:], "GET", {}, None, False, None
assert args.pop(0) == "api", args
while args:
    arg = args.pop(0)
    if arg in ("-X", "--method"):
        method = args.pop(0)
    elif arg in ("-f", "-F", "--field", "--raw-field"):
        key, value = args.pop(0).split("=", 1)
        fields[key] = open(value[1:], encoding="utf-8").read() if arg in ("-F", "--field") and value.startswith("@") \\
            else value
    elif arg == "--paginate":
        paginate = True
    elif arg == "--jq":
        query = args.pop(0)
    else:
        assert endpoint is None and not arg.startswith("-"), arg
        endpoint = arg
state = json.load(open(os.environ["GH_STUB_STATE"], encoding="utf-8"))
with open(os.environ["GH_STUB_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({"method": method, "endpoint": endpoint, "fields": fields}) + "\\n")
def pages(items):  # two pages, printed one after the other as `gh api --paginate` does (--jq: on each)
    assert paginate, "a list read without --paginate misses its later pages"
    for page in (items[:1], items[1:]):
        if query is None:
            print(json.dumps(page), end="")
        else:
            print(subprocess.run(["jq", "-r", query], input=json.dumps(page), capture_output=True, text=True,
                                 check=True).stdout, end="")
if method == "GET" and endpoint == "repos/org/repo/pulls":
    pages([p for p in state["pulls"] if p["state"] == fields.get("state", "open")
           and fields.get("head", p["head"]["label"]) == p["head"]["label"]])
elif method == "GET" and re.fullmatch(r"repos/org/repo/issues/\\d+/comments", endpoint):
    pages(state["comments"].get(endpoint.split("/")[4], []))
elif method in ("PATCH", "POST"):
    print(json.dumps({"id": 1}))
else:
    sys.exit(f"gh stub: no answer for {method} {endpoint}")
'''


def _pull(number: int, owner: str, branch: str, sha: str) -> dict[str, object]:
    return {"number": number, "state": "open", "base": {"repo": {"full_name": "org/repo"}},
            "head": {"sha": sha, "ref": branch, "label": f"{owner}:{branch}", "repo": {"full_name": f"{owner}/repo"}}}


def _comment(number: int, login: str, body: str) -> dict[str, object]:
    return {"id": number, "user": {"login": login}, "body": body}


STATE = {
    "pulls": [_pull(42, "fork", BRANCH, SHA),             # the pull request the run was for
              _pull(17, "alice", "feature", "1" * 40)],   # someone else's
    "comments": {
        "17": [_comment(5001, "github-actions[bot]", f"{MARKER}\nthe real diff of #17")],
        "42": [_comment(6001, "mallory", f"{MARKER}\nnot the bot's"),
               _comment(6002, "github-actions[bot]", f"{MARKER}\nthe diff of an earlier push")],
    },
}


def _comment_workflow() -> dict[str, object]:
    (workflow,) = [b for b in BLOCKS if isinstance(b, dict) and "workflow_run" in (b.get(True) or b.get("on") or {})]
    return workflow


def _post_comment(tmp_path: Path, artifact: dict[str, str], state: dict[str, object]) -> tuple[int, str, list[dict]]:
    """Run the trusted workflow's steps as the runner would, the artifact downloaded where its step puts it."""
    (job,) = _comment_workflow()["jobs"].values()
    download, post = job["steps"]
    temp, work, stub = tmp_path / "runner_temp", tmp_path / "workspace", tmp_path / "bin"
    for folder in (temp, work, stub):
        folder.mkdir()
    values = {"secrets.GITHUB_TOKEN": "token", "github.repository": "org/repo", "runner.temp": str(temp),
              "github.event.workflow_run.id": "7", "github.event.workflow_run.head_sha": SHA,
              "github.event.workflow_run.head_repository.full_name": "fork/repo",
              "github.event.workflow_run.head_repository.owner.login": "fork",
              "github.event.workflow_run.head_branch": BRANCH, "github.event.workflow_run.html_url": RUN_URL}

    def expand(text: str) -> str:
        return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], text)

    assert download["uses"].startswith("actions/download-artifact@")
    landing = Path(expand(download["with"].get("path", str(work))))
    landing.mkdir(parents=True, exist_ok=True)
    for name, text in artifact.items():
        if text.startswith("->"):
            (landing / name).symlink_to(text[2:])
        else:
            (landing / name).write_text(text, encoding="utf-8")
    (stub / "gh").write_text(f"#!{sys.executable}\n{GH_STUB}", encoding="utf-8")
    (stub / "gh").chmod(0o755)
    (tmp_path / "state.json").write_text(json.dumps(state), encoding="utf-8")
    env = {"PATH": f"{stub}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path), "RUNNER_TEMP": str(temp),
           "GH_STUB_STATE": str(tmp_path / "state.json"), "GH_STUB_LOG": str(tmp_path / "gh.log")}
    env.update({k: expand(str(v)) for k, v in post["env"].items()})
    script = tmp_path / "step.sh"
    script.write_text(post["run"], encoding="utf-8")
    done = subprocess.run([shutil.which("bash") or "bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert not list(tmp_path.rglob("PWNED")), "the branch name ran as shell code"
    log = tmp_path / "gh.log"
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return done.returncode, done.stdout + done.stderr, calls


def _writes(calls: list[dict]) -> list[tuple[str, str, str]]:
    return [(c["method"], c["endpoint"], c["fields"]["body"]) for c in calls if c["method"] != "GET"]


def test_the_comment_job_runs_only_after_a_successful_pull_request_run() -> None:
    (job,) = _comment_workflow()["jobs"].values()
    condition = job["if"]
    assert "github.event.workflow_run.event == 'pull_request'" in condition
    assert "github.event.workflow_run.conclusion == 'success'" in condition
    for step in job["steps"]:  # the artifact's text never becomes part of a script
        assert "${{" not in step.get("run", "")


def test_a_forged_artifact_reaches_only_the_bots_own_comment_on_the_runs_pull_request(tmp_path: Path) -> None:
    # A fork's own "hookpipe diff" uploaded a text of its choosing and named someone else's pull request.
    status, out, calls = _post_comment(tmp_path, {"comment.md": FORGED, "number": "17\n"}, STATE)
    assert status == 0, out
    assert _writes(calls) == [("PATCH", "repos/org/repo/issues/comments/6002", FORGED)], calls
    assert not any("/17/" in c["endpoint"] for c in calls), calls


def test_without_a_comment_of_the_bot_a_new_one_is_posted(tmp_path: Path) -> None:
    state = {**STATE, "comments": {"42": STATE["comments"]["42"][:1]}}  # only mallory's marker
    status, out, calls = _post_comment(tmp_path, {"comment.md": FORGED}, state)
    assert status == 0, out
    assert _writes(calls) == [("POST", "repos/org/repo/issues/42/comments", FORGED)], calls


def test_a_run_whose_commit_is_no_pull_requests_head_posts_nothing(tmp_path: Path) -> None:
    # pushed to since (or closed): the head is another commit now
    state = {**STATE, "pulls": [_pull(42, "fork", BRANCH, "2" * 40), *STATE["pulls"][1:]]}
    status, out, calls = _post_comment(tmp_path, {"comment.md": FORGED, "number": "17\n"}, state)
    assert status == 0, out
    assert _writes(calls) == [], calls


@pytest.mark.parametrize("artifact", [
    {"comment.md": MARKER + "\n" + "x" * 70_000},   # over GitHub's 65,536-character limit
    {"comment.md": "->/etc/passwd"},                # a link the artifact carried
    {"comment.md": "no marker: a second comment on every push"},
    {},                                             # nothing
], ids=["too-long", "link", "no-marker", "missing"])
def test_an_artifact_that_is_not_a_comment_becomes_a_line_pointing_to_the_run(tmp_path: Path,
                                                                                artifact: dict[str, str]) -> None:
    status, out, calls = _post_comment(tmp_path, artifact, STATE)
    assert status == 0, out
    ((method, endpoint, body),) = _writes(calls)
    assert (method, endpoint) == ("PATCH", "repos/org/repo/issues/comments/6002")
    assert body.startswith(MARKER + "\n") and RUN_URL in body and len(body) < 1000, body


# --- "Without the action": the SARIF step by hand ------------------------------------------------

def _recipe_upload(tmp_path: Path, files: dict[str, str]) -> tuple[str, Path | None]:
    """Run the recipe's SARIF step in a checkout holding ``files``; what its upload step would send."""
    (recipe,) = [b for b in BLOCKS if isinstance(b, list) and any("--format sarif" in s.get("run", "") for s in b)]
    sarif = next(s for s in recipe if "--format sarif" in s.get("run", ""))
    upload = next(s for s in recipe if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    work, temp = tmp_path / "workspace", tmp_path / "runner_temp"
    (work / ".git").mkdir(parents=True)
    temp.mkdir()
    for name, text in files.items():
        (work / name).write_text(text, encoding="utf-8")
    output = tmp_path / "github_output"
    output.write_text("", encoding="utf-8")
    script = tmp_path / "step.sh"
    script.write_text(sarif["run"], encoding="utf-8")
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
           "RUNNER_TEMP": str(temp), "GITHUB_OUTPUT": str(output)}
    done = subprocess.run([shutil.which("bash") or "bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120)
    outputs = {f"steps.{sarif.get('id')}.outputs.{key}": value for key, value in
               (line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())}
    # The upload's `if:` as the runner evaluates it here: always(), and an output that must not be empty.
    for name in re.findall(r"(steps\.[\w-]+\.outputs\.[\w-]+) != ''", upload.get("if", "")):
        if not outputs.get(name):
            return done.stdout + done.stderr, None
    sent = re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: outputs[m.group(1)], upload["with"]["sarif_file"])
    return done.stdout + done.stderr, work / sent  # a relative path is the checkout's


WARNS = 'trainer { max_step = 1000 }\nhook optimize = optimizer()\nhook save = checkpoint(dir = "x")\n' \
        "loop { epoch { step { after { optimize } } } }\n"
FORGED_SARIF = '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "hookpipe"}}, "results": []}]}'


def test_the_recipe_uploads_the_log_hookpipe_wrote_outside_the_checkout(tmp_path: Path) -> None:
    out, sent = _recipe_upload(tmp_path, {"train.pipe": WARNS, "hookpipe.sarif": FORGED_SARIF})
    assert sent is not None and not sent.is_relative_to(tmp_path / "workspace"), (sent, out)
    results = json.loads(sent.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["HP103"]


def test_the_recipe_uploads_nothing_after_a_usage_error(tmp_path: Path) -> None:
    # A committed hookpipe.sarif and a broken table: hookpipe exits 2 and writes nothing.
    out, sent = _recipe_upload(tmp_path, {"train.pipe": WARNS, "hookpipe.sarif": FORGED_SARIF,
                                          "pyproject.toml": '[tool.hookpipe.lint]\nselect = "ALL"\n'})
    assert "must be a list of codes" in out, out
    assert sent is None, sent.read_text(encoding="utf-8")


# --- pinned installs: an unpinned one runs whatever the index serves under that name -------------

PIP_INSTALLS = re.findall(r"run: pip install ([^\n#]*)", "\n".join(re.findall(r"```yaml\n(.*?)```", CI, re.S)))


def test_every_install_in_the_workflows_is_pinned_to_a_version_or_a_commit() -> None:
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)[1]
    repo_url = re.search(r"^repo_url: (\S+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M)[1]
    assert len(PIP_INSTALLS) >= 3, PIP_INSTALLS  # the recipe (a version, and a commit), the diff workflow
    kinds = set()
    for spec in PIP_INSTALLS:
        spec = spec.strip().strip('"')
        if spec.startswith("hookpipe=="):
            assert spec == f"hookpipe=={version}", spec
            kinds.add("version")
        else:
            m = re.fullmatch(r"hookpipe @ git\+(\S+)@([0-9a-f]{40})", spec)
            assert m is not None, f"not pinned: pip install {spec}"
            assert m[1] == repo_url, spec
            assert subprocess.run(["git", "cat-file", "-e", f"{m[2]}^{{commit}}"], cwd=ROOT).returncode == 0, m[2]
            kinds.add("commit")
    assert kinds == {"version", "commit"}
    assert "pip install hookpipe " not in CI.replace("`pip install hookpipe`", "")  # no unpinned command


def test_the_workflow_pins_the_action_to_a_commit_that_has_its_inputs() -> None:
    workflows = [b for b in BLOCKS if isinstance(b, dict) and "jobs" in b]
    uses = [s["uses"] for w in workflows for job in w["jobs"].values() for s in job["steps"]
            if str(s.get("uses", "")).startswith("hookpipe/hookpipe@")]
    for ref in uses:
        sha = ref.split("@", 1)[1]
        assert re.fullmatch(r"[0-9a-f]{40}", sha), f"{ref}: pin a full commit sha, not a branch or a tag"
        shown = subprocess.run(["git", "show", f"{sha}:action.yml"], cwd=ROOT, capture_output=True, text=True)
        assert shown.returncode == 0, shown.stderr
        assert {"paths", "args"} <= set(yaml.safe_load(shown.stdout)["inputs"])
    (line,) = [line for line in CI.splitlines() if line.strip().startswith("paths: configs/ experiments/train.pipe")]
    assert "#" in line and "replace" in line.split("#", 1)[1], line  # the example's paths, to replace


def _install_step(tmp_path: Path, version: str) -> tuple[int, str, str]:
    """Run action.yml's install step with ``version``; ``python`` is a stub that logs its arguments."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s["name"] == "Install hookpipe")
    stub = tmp_path / "bin"
    stub.mkdir()
    log = tmp_path / "calls"
    (stub / "python").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n', encoding="utf-8")
    (stub / "python").chmod(0o755)
    script = tmp_path / "install.sh"
    script.write_text(step["run"], encoding="utf-8")
    env = {"PATH": f"{stub}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path),
           "HOOKPIPE_VERSION": version, "HOOKPIPE_ACTION_PATH": str(ROOT)}
    done = subprocess.run([shutil.which("bash") or "bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr, log.read_text(encoding="utf-8") if log.exists() else ""


@pytest.mark.parametrize("version", ["0.1.*", ">=0.1", "0.1.0,<1", "0.1.0 --index-url=http://x", "0.1\n0"])
def test_the_action_installs_one_exact_release_or_nothing(tmp_path: Path, version: str) -> None:
    status, out, calls = _install_step(tmp_path, version)
    assert status == 2 and calls == "", (out, calls)
    assert "::error title=hookpipe action::the input version is one exact release" in out
    assert version not in out  # the value is not echoed into a workflow command


def test_the_action_installs_the_exact_release_it_is_given(tmp_path: Path) -> None:
    status, out, calls = _install_step(tmp_path, "0.1.0")
    assert status == 0, out
    assert calls.splitlines()[0] == "-I -m pip install --disable-pip-version-check hookpipe==0.1.0"
