"""The wheel carries every package and the grammar."""

from __future__ import annotations

import tomllib

from tests.helpers import ROOT


def test_every_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "hookpipe").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert config["package-dir"]["hookpipe.grammars"] == "grammars"
    assert "*.lark" in config["package-data"]["hookpipe.grammars"]


def test_grammar_is_read_from_the_package() -> None:
    from hookpipe.dsl.grammar import grammar_text

    assert grammar_text() == (ROOT / "grammars" / "pipe.lark").read_text()
