"""action.yml, the composite GitHub Action, run step by step as the runner runs it.

The runner's part is played here: inputs (defaults from action.yml, overridden per
test) and ``github.action_path`` are substituted into each step's ``env`` and
``working-directory``; each ``run:`` script goes to ``bash --noprofile --norc -eo
pipefail`` (the runner's ``shell: bash``) in a temporary copy, with ``GITHUB_OUTPUT``
and ``GITHUB_ENV`` files; a failing step stops the job. No network: the action's own
checkout is a copy of this repository, installed with pip's index switched off into
a Python whose dependencies come from this environment (``setup-python``'s part).

The workspace plays the pull request's checkout, so the hostile tests commit there
what a fork could: modules named like the ones the action imports, programs named
like the ones it runs, a ``hookpipe.sarif`` of their own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import FIXTURES, ROOT

pytestmark = pytest.mark.slow

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")
# The runner starts bash itself, by an absolute path: a `bash` in the workspace is not it.
BASH = shutil.which("bash") or "bash"


@dataclass
class Step:
    name: str
    status: int
    out: str


@dataclass
class Runner:
    """A workspace, the action's checkout and a Python with setup-python's role."""

    workspace: Path
    action_path: Path
    python_bin: Path
    temp: Path

    def expand(self, text: str, inputs: dict[str, str]) -> str:
        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("inputs."):
                return inputs[name.removeprefix("inputs.")]
            if name == "github.action_path":
                return str(self.action_path)
            raise AssertionError(f"action.yml uses ${{{{ {name} }}}}, which this runner does not provide")
        return _EXPRESSION.sub(value, text)

    def run(self, steps: list[dict[str, object]] | None = None, path_before: str = "", **given: str) -> list[Step]:
        """Run the action's steps; ``path_before`` goes in front of PATH (as a job's own PATH entries would)."""
        declared = ACTION["inputs"]
        assert set(given) <= set(declared), set(given) - set(declared)
        inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()}
        inputs.update(given)
        output = self.temp / "github_output"
        output.write_text("", encoding="utf-8")
        results = []
        for step in steps if steps is not None else ACTION["runs"]["steps"]:
            assert step["shell"] == "bash"
            env = {
                "PATH": f"{path_before}{self.python_bin}{os.pathsep}{os.environ['PATH']}",
                "HOME": str(self.temp),
                "GITHUB_ACTION_PATH": str(self.action_path),
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_OUTPUT": str(output),
                "GITHUB_ENV": str(self.temp / "github_env"),
                "RUNNER_TEMP": str(self.temp),
                # No network: the checkout is built with this environment's setuptools.
                "PIP_NO_INDEX": "1",
                "PIP_NO_BUILD_ISOLATION": "0",
            }
            env.update({k: self.expand(str(v), inputs) for k, v in dict(step.get("env", {})).items()})
            cwd = self.workspace / self.expand(str(step.get("working-directory", ".")), inputs)
            script = self.temp / "step.sh"
            script.write_text(str(step["run"]), encoding="utf-8")
            done = subprocess.run([BASH, "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd,
                                  env=env, capture_output=True, text=True, timeout=300)
            results.append(Step(str(step["name"]), done.returncode, done.stdout + done.stderr))
            if done.returncode != 0:
                break
        return results

    def outputs(self) -> dict[str, str]:
        lines = (self.temp / "github_output").read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)


def _checkout_copy(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _python(dest: Path) -> Path:
    """A venv whose packages are this environment's (hookpipe's dependencies, pip, setuptools)."""
    venv.EnvBuilder(with_pip=False).create(dest)
    (site,) = dest.glob("lib/python*/site-packages") or dest.glob("Lib/site-packages")
    outer = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "outer.pth").write_text("\n".join(outer) + "\n", encoding="utf-8")
    return dest / ("Scripts" if os.name == "nt" else "bin")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    base = tmp_path_factory.mktemp("action")
    workspace = base / "workspace"
    (workspace / ".git").mkdir(parents=True)
    project = workspace / "proj"
    (project / "pipes").mkdir(parents=True)
    (project / "pyproject.toml").write_text("", encoding="utf-8")
    lint = FIXTURES / "lint"
    shutil.copy(lint / "HP005_fail.pipe", project / "pipes" / "broken.pipe")
    shutil.copy(lint / "HP103_fail.pipe", project / "pipes" / "warns.pipe")
    shutil.copy(lint / "HP103_pass.pipe", project / "clean.pipe")
    temp = base / "runner_temp"
    temp.mkdir()
    return Runner(workspace, _checkout_copy(base / "action"), _python(base / "python"), temp)


@pytest.fixture(scope="module")
def installed(runner: Runner) -> Runner:
    steps = runner.run(paths="clean.pipe", **{"working-directory": "proj"})
    assert [s.status for s in steps] == [0, 0], steps
    return runner


def test_the_action_is_a_composite_with_the_documented_inputs():
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"paths", "version", "args", "sarif-file", "working-directory"}
    assert all(spec.get("description") for spec in ACTION["inputs"].values())
    for step in ACTION["runs"]["steps"]:
        # inputs reach scripts through env only: a value cannot become shell code
        assert "${{" not in step["run"], step["name"]


def test_the_install_step_installs_the_actions_own_checkout(installed: Runner):
    where = subprocess.run([str(installed.python_bin / "python"), "-c", "import hookpipe; print(hookpipe.__file__)"],
                           cwd=installed.temp, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(installed.python_bin.parent), where
    assert (installed.python_bin / "hookpipe").exists()


def test_findings_are_annotated_from_the_repository_root_and_written_as_sarif(installed: Runner):
    install, lint = installed.run(paths="pipes", **{"working-directory": "proj"})
    assert install.status == 0
    assert lint.status == 1, lint.out  # an error fails the step
    annotations = [line for line in lint.out.splitlines() if line.startswith("::error ") or line.startswith("::warning ")]
    assert any(a.startswith("::error file=proj/pipes/broken.pipe,") and "title=HP005" in a for a in annotations)
    assert any(a.startswith("::warning file=proj/pipes/warns.pipe,") and "title=HP103" in a for a in annotations)
    sarif = Path(installed.outputs()["sarif-file"])
    # in a new folder under RUNNER_TEMP, outside the checkout
    assert sarif.name == "hookpipe.sarif" and sarif.parent.parent == installed.temp, sarif
    assert not sarif.is_relative_to(installed.workspace) and not sarif.is_symlink()
    results = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results} == {
        ("HP005", "proj/pipes/broken.pipe"), ("HP103", "proj/pipes/warns.pipe")}


def test_warnings_pass_unless_the_extra_arguments_promote_them(installed: Runner):
    _, lint = installed.run(paths="pipes/warns.pipe", **{"working-directory": "proj"})
    assert lint.status == 0 and "title=HP103" in lint.out
    _, lint = installed.run(paths="pipes/warns.pipe", args="--warnings-as-errors", **{"working-directory": "proj"})
    assert lint.status == 1 and "::error file=proj/pipes/warns.pipe," in lint.out
    _, lint = installed.run(paths="pipes/warns.pipe", args="--ignore HP103", **{"working-directory": "proj"})
    assert lint.status == 0 and "title=HP103" not in lint.out


def test_several_paths_from_the_workspace_root_and_no_sarif(installed: Runner):
    (installed.workspace / "hookpipe.sarif").unlink(missing_ok=True)
    _, lint = installed.run(paths="proj/clean.pipe\nproj/pipes/warns.pipe", **{"sarif-file": ""})
    assert lint.status == 0
    assert "2 files checked" in lint.out and "::warning file=proj/pipes/warns.pipe," in lint.out
    assert "sarif-file" not in installed.outputs()
    assert not (installed.workspace / "hookpipe.sarif").exists()


def test_a_usage_error_fails_the_step_and_writes_no_sarif(installed: Runner):
    (installed.workspace / "proj" / "hookpipe.sarif").unlink(missing_ok=True)
    _, lint = installed.run(paths="pipes", args="--select HP999", **{"working-directory": "proj"})
    assert lint.status == 2, lint.out
    assert "sarif-file" not in installed.outputs()
    assert not (installed.workspace / "proj" / "hookpipe.sarif").exists()


def test_a_version_installs_that_release_by_its_pinned_name(installed: Runner):
    # The index is off here, so the pin is satisfied by the hookpipe installed above;
    # on a runner pip fetches hookpipe==VERSION from the index.
    (install,) = installed.run(ACTION["runs"]["steps"][:1], version="0.1.0")
    assert install.status == 0, install.out
    assert "hookpipe==0.1.0" in install.out and "hookpipe 0.1.0" in install.out
    (install,) = installed.run(ACTION["runs"]["steps"][:1], version="99.0.0")
    assert install.status != 0 and "hookpipe==99.0.0" in install.out


def _workspace(runner: Runner, base: Path, files: dict[str, str], executable: bool = False) -> Runner:
    """A checkout holding ``train.pipe`` (one HP005 error) and the given files; the action's runner in it."""
    workspace = base / "workspace"
    (workspace / ".git").mkdir(parents=True)
    shutil.copy(FIXTURES / "lint" / "HP005_fail.pipe", workspace / "train.pipe")
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text, encoding="utf-8")
        if executable:
            (workspace / name).chmod(0o755)
    temp = base / "runner_temp"
    temp.mkdir()
    return dataclasses.replace(runner, workspace=workspace, temp=temp)


def _assert_only_hookpipe_ran(hostile: Runner, steps: list[Step], pwned: Path) -> None:
    """The real install and lint ran (the HP005 error, its SARIF), nothing of the checkout did."""
    out = "".join(s.out for s in steps)
    assert not pwned.exists(), pwned.read_text(encoding="utf-8") + out
    assert "forged" not in out, out
    assert [s.status for s in steps] == [0, 1], out
    assert re.search(r"^hookpipe \S+$", steps[0].out, re.M), steps[0].out
    assert "::error file=train.pipe," in steps[1].out and "title=HP005" in steps[1].out, steps[1].out
    results = json.loads(Path(hostile.outputs()["sarif-file"]).read_text(encoding="utf-8"))["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["HP005"]


# What each committed module does when imported: leave a mark, forge an annotation, end the process "cleanly".
_HOSTILE_MODULE = """\
import sys
with open({pwned!r}, "a") as mark:
    mark.write("imported %s from the checkout: %r\\n" % (__name__, sys.argv))
print("::error title=forged::the pull request's code ran in the action")
raise SystemExit(0)
"""


@pytest.mark.parametrize("modules", [
    ["pip/__init__.py", "pip/__main__.py"],       # the install step's `python -m pip`
    ["hookpipe/__init__.py", "hookpipe/cli.py"],  # `python -m hookpipe.cli` itself
    ["lark.py", "argparse.py", "json.py"],        # what hookpipe imports
], ids=["pip", "hookpipe", "dependencies"])
def test_modules_the_pull_request_commits_are_never_imported(installed: Runner, tmp_path: Path, modules: list[str]):
    # `python -m` puts the current folder first on sys.path; the action's Python runs isolated (-I).
    pwned = tmp_path / "PWNED"
    hostile = _workspace(installed, tmp_path, {m: _HOSTILE_MODULE.format(pwned=str(pwned)) for m in modules})
    _assert_only_hookpipe_ran(hostile, hostile.run(), pwned)


def test_programs_the_pull_request_commits_are_not_found_through_relative_path_entries(installed: Runner,
                                                                                         tmp_path: Path):
    pwned = tmp_path / "PWNED"
    program = (f"#!/bin/sh\necho \"ran $0 of the checkout\" >> '{pwned}'\n"
               "echo '::error title=forged::the pull request's program ran in the action'\n")
    names = ["python", "python3", "pip", "mktemp", "dirname", "basename", "rm", "cat", "hookpipe"]
    hostile = _workspace(installed, tmp_path, dict.fromkeys(names, program), executable=True)
    # An empty entry and "." both mean the current folder, which is the checkout.
    _assert_only_hookpipe_ran(hostile, hostile.run(path_before=f"{os.pathsep}.{os.pathsep}"), pwned)


FORGED_SARIF = json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "hookpipe"}}, "results": []}]})


def test_a_committed_sarif_link_is_never_the_log(installed: Runner, tmp_path: Path):
    # The link's target is the pull request's own "clean" log; hookpipe refuses to write through a link.
    hostile = _workspace(installed, tmp_path, {".ci/forged.sarif": FORGED_SARIF})
    (hostile.workspace / "hookpipe.sarif").symlink_to(".ci/forged.sarif")
    install, lint = hostile.run()
    assert (install.status, lint.status) == (0, 1), lint.out
    sarif = Path(hostile.outputs()["sarif-file"])
    assert not sarif.is_relative_to(hostile.workspace) and not sarif.is_symlink(), sarif
    assert [r["ruleId"] for r in json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]] == ["HP005"]
    assert (hostile.workspace / ".ci" / "forged.sarif").read_text(encoding="utf-8") == FORGED_SARIF


def test_a_committed_sarif_file_is_not_named_after_a_usage_error(installed: Runner, tmp_path: Path):
    hostile = _workspace(installed, tmp_path, {"hookpipe.sarif": FORGED_SARIF,
                                               "pyproject.toml": '[tool.hookpipe.lint]\nselect = "ALL"\n'})
    _, lint = hostile.run()
    assert lint.status == 2 and "must be a list of codes" in lint.out, lint.out
    assert "sarif-file" not in hostile.outputs()


def test_the_sarif_file_input_is_a_name_not_a_path(installed: Runner):
    for name in ("proj/hookpipe.sarif", "..", "/tmp/hookpipe.sarif"):
        _, lint = installed.run(paths="clean.pipe", **{"working-directory": "proj", "sarif-file": name})
        assert lint.status == 2 and "the input sarif-file is a file name" in lint.out, lint.out
        assert "sarif-file" not in installed.outputs()
