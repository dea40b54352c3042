"""docs/reference.md: every ```pipe example checks as the page says, and the grammar copy is the grammar.

An example with no label must lint without a single finding. A label, the paragraph
right before the block, says otherwise: ``Fails with [HPxxx](rules/HPxxx.md):`` (the
lint reports exactly that code, once or more, and nothing else) or ``File `NAME`:``
(the block is written as NAME beside the examples, for an ``include``, and not
linted on its own). The labels are visible text, so readers see what the test
checks. docs/index.md's example is held to the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from hookpipe.compiler.catalog import BUILTINS
from hookpipe.lint.codes import CODES
from hookpipe.lint.runner import lint_paths
from tests.helpers import ROOT

PAGES = ("reference.md", "index.md")
_BLOCK = re.compile(r"(?:^(?P<label>[^\n]*):\n\n)?```pipe\n(?P<body>.*?)```", re.S | re.M)
_FAILS = re.compile(r"Fails with \[(HP\d{3})\]\(rules/\1\.md\)")
_FILE = re.compile(r"File `([\w.]+\.pipe)`")


def _marker(label: str | None) -> str | None:
    """``fails with HPxxx``, ``file: NAME``, or None for a plain paragraph or no label."""
    if label is None:
        return None
    if m := _FAILS.fullmatch(label):
        return f"fails with {m[1]}"
    if m := _FILE.fullmatch(label):
        return f"file: {m[1]}"
    assert not re.match(r"Fails with|File ", label), f"a label the test does not know: {label!r}"
    return None


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    marker: str | None
    body: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def examples() -> list[Example]:
    found = []
    for page in PAGES:
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        for m in _BLOCK.finditer(text):
            found.append(Example(page, text.count("\n", 0, m.start("body")), _marker(m["label"]), m["body"]))
    return found


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    for ex in examples():
        if ex.marker and ex.marker.startswith("file: "):
            (tmp_path / ex.marker.removeprefix("file: ")).write_text(ex.body, encoding="utf-8")
    return tmp_path


def test_every_marker_is_known_and_the_page_has_examples_of_both_kinds() -> None:
    found = examples()
    markers = [ex.marker for ex in found if ex.marker]
    assert all(re.fullmatch(r"fails with HP\d{3}|file: [\w.]+\.pipe", m) for m in markers), markers
    fails = {m.removeprefix("fails with ") for m in markers if m.startswith("fails")}
    assert fails <= {c.code for c in CODES}
    assert len(fails) >= 10, fails
    assert sum(1 for ex in found if ex.marker is None) >= 8


def checked_examples() -> list[Example]:
    """The examples linted on their own (an included file is linted through its includer)."""
    return [ex for ex in examples() if not (ex.marker and ex.marker.startswith("file: "))]


@pytest.mark.parametrize("example", checked_examples(), ids=lambda ex: ex.id)
def test_example_checks_as_the_page_says(example: Example, tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "example.pipe").write_text(example.body, encoding="utf-8")
    codes = [d.code for d in lint_paths([str(project / "example.pipe")], jobs=1).diagnostics]
    if example.marker is None:
        assert codes == [], f"{example.id}: {codes}"
    else:
        expected = example.marker.removeprefix("fails with ")
        assert codes and set(codes) == {expected}, f"{example.id}: {codes}"


def test_the_grammar_section_is_the_grammar_file() -> None:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    copy = re.search(r"## The grammar\n.*?```lark\n(.*?)```", text, re.S)
    assert copy is not None
    assert copy.group(1) == (ROOT / "grammars" / "pipe.lark").read_text(encoding="utf-8")


def test_every_builtin_and_every_code_is_in_the_reference() -> None:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    for name in BUILTINS:
        assert f"`{name}(" in text, name
    for code in CODES:
        assert f"[{code.code}](rules/{code.code}.md)" in text, code.code


def test_no_page_in_docs_or_the_readme_mentions_the_team_spec() -> None:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        assert "SPEC.md" not in path.read_text(encoding="utf-8"), path


def _other_pages_examples() -> list[Example]:
    """```pipe blocks of the guides (not reference/index, held to lint above; not rules/, held by test_lint_docs)."""
    found = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        if path.name in PAGES:
            continue
        text = path.read_text(encoding="utf-8")
        for m in _BLOCK.finditer(text):
            found.append(Example(path.name, text.count("\n", 0, m.start("body")), None, m["body"]))
    return found


def test_the_guides_have_pipe_examples() -> None:
    pages = {ex.page for ex in _other_pages_examples()}
    assert {"builtins.md", "compat.md"} <= pages, pages


@pytest.mark.parametrize("example", _other_pages_examples(), ids=lambda ex: ex.id)
def test_every_guide_example_parses(example: Example) -> None:
    """A guide's example may leave hooks undefined (it shows a part), but it must be valid syntax."""
    from hookpipe.dsl.parser import parse_text

    result = parse_text(example.body, f"{example.page}:{example.line}")
    assert result.file is not None, [d.message for d in result.diagnostics]
