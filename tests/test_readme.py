"""README's Quick start is what CI runs, and it stays two commands."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.helpers import ROOT


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_quick_start_has_exactly_two_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "hookpipe run examples/digits/train.pipe" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert quick_start_commands()[1] in ci.splitlines()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_quick_start_installs_the_exact_versions_of_the_constraints_file() -> None:
    for command in quick_start_commands():
        assert "pip install -e '.[" in command and "-c constraints.txt" in command, command


def test_the_constraints_pin_versions_inside_the_declared_ranges() -> None:
    import tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["runtime"]]
    for req in declared:
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"constraints.txt does not pin {name}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req.specifier}"
    # The runtime extra declares a range for torch, never one exact version.
    torch = next(r for r in declared if r.name == "torch")
    assert not any(s.operator == "==" for s in torch.specifier)


def test_readme_and_constraints_state_the_declared_torch_range() -> None:
    import tomllib
    from packaging.requirements import Requirement

    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["runtime"]
    torch = next(Requirement(r) for r in runtime if Requirement(r).name == "torch")
    spec = ",".join(sorted(str(s) for s in torch.specifier))  # ">=2.13,<2.14" sorts as "<2.14,>=2.13"
    readme = (ROOT / "README.md").read_text()
    stated = re.findall(r"`torch(>=[\d.]+,<[\d.]+)`", readme)
    assert stated and all(",".join(sorted(s.split(","))) == spec for s in stated), (stated, spec)
    comment = re.search(r"torch (>=[\d.]+,<[\d.]+)", (ROOT / "constraints.txt").read_text())
    assert comment is not None and ",".join(sorted(comment.group(1).split(","))) == spec


def test_readme_documents_the_docs_site_and_ci_builds_it_strictly() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "mkdocs serve" in readme and (ROOT / "mkdocs.yml").is_file()
    assert ".venv/bin/mkdocs build --strict --site-dir site" in ci
    # the browser check reads the site that line builds; the wheel check runs from the checkout
    assert ".venv/bin/python tests/site_screenshots.py site build/site-screenshots" in ci
    assert "tests/wheel_smoke.sh .venv/bin/python" in ci
    assert ci.index(".venv/bin/mkdocs build --strict --site-dir site") < ci.index(
        ".venv/bin/python tests/site_screenshots.py site build/site-screenshots")


def test_readme_says_what_the_runtime_extra_brings_in() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("**What `[runtime]` brings in, and why.**", 1)[1].split("\n\n", 1)[0]
    for name in ("torch", "accelerate", "robo_orchard_core", "gymnasium", "opencv-python", "huggingface_hub"):
        assert f"`{name}" in section, name


def test_readme_s_first_example_compiles_and_its_edit_gives_the_error_shown(tmp_path: Path) -> None:
    """The first thing a reader copies: as written it checks; with `optimize -> clip` it prints README's lines."""
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text()
    example = readme.split("```pipe\n", 1)[1].split("```", 1)[0]
    shown = readme.split("Write `optimize -> clip` instead", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def check(text: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "bad.pipe").write_text(text)
        return subprocess.run([sys.executable, "-m", "hookpipe.cli", "check", "bad.pipe"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)

    assert check(example).returncode == 0, check(example).stderr
    bad = example.replace("clip -> optimize", "optimize -> clip")
    done = check(bad)
    assert done.returncode == 1
    for line in shown.splitlines():
        if line.strip() != "...":
            assert line in done.stderr.splitlines(), (line, done.stderr)
