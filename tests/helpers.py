"""Shared test helpers: the repository's examples, fixtures and the available renderers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hookpipe.render.engine import PURE, _in_scripts

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
UPDATE = os.environ.get("HOOKPIPE_UPDATE_GOLDEN") == "1"


def examples() -> list[Path]:
    """Every example pipeline, found anew each run so examples added later are covered."""
    found = sorted((ROOT / "examples").rglob("*.pipe"))
    assert found, "no examples found under examples/"
    return found


def pure_renderer() -> str:
    """The PyPI renderer; a missing one fails the test run (it is a hard dependency)."""
    path = shutil.which(PURE) or _in_scripts(PURE)
    assert path, "graphviz-pure is not installed: `pip install -e .` installs it"
    return path


def renderers() -> list[str]:
    """graphviz-pure always, plus Graphviz's dot where it is installed."""
    found = [PURE]
    if shutil.which("dot"):
        found.append("dot")
    return found


def resolve(name: str) -> str:
    return pure_renderer() if name == PURE else str(shutil.which(name))


def golden(path: Path, actual: str) -> str:
    """The expected text of a golden file (rewritten first when HOOKPIPE_UPDATE_GOLDEN=1)."""
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    return path.read_text(encoding="utf-8")
