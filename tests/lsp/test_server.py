"""End to end: the real ``hookpipe lsp`` over stdio, on real files, positions included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from hookpipe.compiler.pipeline import compile_path
from hookpipe.dsl.formatter import format_text
from hookpipe.lint.runner import lint_paths
from tests.lsp.conftest import REPO
from tests.lsp.helpers import apply, change, close, column, doc, open_file, pos, span_of, uri

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

DIGITS = REPO / "examples/digits/train.pipe"
FINETUNE = REPO / "examples/finetune.pipe"
BASE = REPO / "examples/compose/base.pipe"
FIXTURES = REPO / "tests/fixtures/lsp"


def _codes(diagnostics: list[types.Diagnostic]) -> list[tuple[str, int, int]]:
    return [(str(d.code), d.range.start.line + 1, d.range.start.character + 1) for d in diagnostics]


def _lint(path: Path) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.column) for d in lint_paths([str(path)]).diagnostics]


async def _actions(client: LanguageClient, path: Path, d: types.Diagnostic) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=doc(path), range=d.range, context=types.CodeActionContext(diagnostics=[d])))
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


async def test_digits_is_clean_and_matches_lint(client: LanguageClient) -> None:
    assert await open_file(client, DIGITS) == [] == _lint(DIGITS)


async def test_unknown_names_with_did_you_mean_fixes(client: LanguageClient) -> None:
    path = FIXTURES / "unknown_name.pipe"
    found = await open_file(client, path)
    assert _codes(found) == _lint(path) == [("HP002", 6, 17), ("HP002", 13, 25)]
    kind, name = found
    assert kind.range == span_of(path, 6, "grad_clp") and name.range == span_of(path, 13, "optimise")
    assert kind.severity == types.DiagnosticSeverity.Error and kind.source == "hookpipe"
    assert kind.code_description is not None and kind.code_description.href.endswith("/docs/rules/HP002.md")
    assert "help: did you mean `grad_clip`?" in kind.message
    text = path.read_text(encoding="utf-8")
    for d, old, new in ((kind, "grad_clp", "grad_clip"), (name, "optimise", "optimize")):
        actions = await _actions(client, path, d)
        assert [a.title for a in actions] == [f"Change `{old}` to `{new}`"]
        (edit,) = actions[0].edit.changes[uri(path)]
        assert edit.range == d.range and edit.new_text == new
        text = apply(text, [edit])
    assert await change(client, path, text, 2) == []
    close(client, path)


async def test_effect_order_with_related_location_and_reorder_fix(client: LanguageClient) -> None:
    path = FIXTURES / "effect_order.pipe"
    found = await open_file(client, path)
    assert _codes(found) == _lint(path) == [("HP005", 14, 17)]
    (d,) = found
    assert d.range == span_of(path, 14, "clip")
    assert d.related_information is not None
    first = d.related_information[0]
    assert first.location.uri == uri(path) and first.location.range == span_of(path, 13, "optimize")
    assert first.message == "`optimize` consumes `grads` here"
    actions = await _actions(client, path, d)
    move = next(a for a in actions if a.title == "Move `clip` before `optimize`")
    assert move.is_preferred
    fixed = apply(path.read_text(encoding="utf-8"), move.edit.changes[uri(path)])
    assert fixed.splitlines()[12:14] == ["                clip", "                optimize"]
    assert await change(client, path, fixed, 2) == []
    close(client, path)


async def test_never_fires_fixes_and_suppression(client: LanguageClient) -> None:
    path = FIXTURES / "never_fires.pipe"
    text = path.read_text(encoding="utf-8")
    found = await open_file(client, path)
    assert _codes(found) == _lint(path) == [("HP101", 15, 22)]
    assert found[0].severity == types.DiagnosticSeverity.Warning
    actions = {a.title: a for a in await _actions(client, path, found[0])}
    assert sorted(actions) == ["Add `and at end`", "Suppress HP101 on this line"]
    at_end = apply(text, actions["Add `and at end`"].edit.changes[uri(path)])
    assert "                save every 500 steps and at end\n" in at_end
    assert await change(client, path, at_end, 2) == []
    suppressed = apply(text, actions["Suppress HP101 on this line"].edit.changes[uri(path)])
    assert "                save every 500 steps  # hookpipe: ignore[HP101]\n" in suppressed
    assert await change(client, path, suppressed, 3) == []
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=doc(path), position=pos(15, suppressed.splitlines()[14].index("HP101") + 2)))
    assert hover is not None and hover.contents.value.startswith("# HP101: a hook never fires within the run")
    close(client, path)


async def test_composed_file_navigation_rename_and_include_rechecks(client: LanguageClient, tmp_path: Path) -> None:
    assert await open_file(client, FINETUNE) == [] == _lint(FINETUNE)
    order_line = next(i for i, line in enumerate(FINETUNE.read_text().splitlines(), 1)
                      if line.startswith("order optimize"))
    at = pos(order_line, column(FINETUNE, order_line, "optimize"))
    loc = await client.text_document_definition_async(types.DefinitionParams(text_document=doc(FINETUNE), position=at))
    assert isinstance(loc, types.Location)
    assert loc.uri == uri(BASE) and loc.range == span_of(BASE, 17, "optimize")
    include = await client.text_document_definition_async(types.DefinitionParams(
        text_document=doc(FINETUNE), position=pos(4, column(FINETUNE, 4, "compose") + 2)))
    assert isinstance(include, types.Location) and include.uri == uri(BASE)
    included_by = await client.text_document_references_async(types.ReferenceParams(
        text_document=doc(FINETUNE), position=pos(4, column(FINETUNE, 4, "compose") + 2),
        context=types.ReferenceContext(include_declaration=True)))
    assert [(r.uri, r.range) for r in included_by] == [(uri(FINETUNE), span_of(FINETUNE, 4, "compose/base.pipe"))]
    prepared = await client.text_document_prepare_rename_async(types.PrepareRenameParams(
        text_document=doc(FINETUNE), position=at))
    assert prepared == span_of(FINETUNE, order_line, "optimize")
    refs = await client.text_document_references_async(types.ReferenceParams(
        text_document=doc(FINETUNE), position=at, context=types.ReferenceContext(include_declaration=True)))
    assert sorted((r.uri == uri(BASE), r.range.start.line + 1) for r in refs) == [
        (False, order_line), (True, 17), (True, 24)]
    edit = await client.text_document_rename_async(types.RenameParams(
        text_document=doc(FINETUNE), position=at, new_name="update"))
    assert edit is not None and sorted(edit.changes) == sorted([uri(FINETUNE), uri(BASE)])
    # The renamed pair still compiles to the same pipeline: copy both files and apply.
    copy = tmp_path / "examples"
    shutil.copytree(REPO / "examples", copy, ignore=shutil.ignore_patterns("*.gz", "__pycache__"))
    for file in (FINETUNE, BASE):
        target = copy / file.relative_to(REPO / "examples")
        target.write_text(apply(file.read_text(), edit.changes[uri(file)]))
    renamed = compile_path(copy / "finetune.pipe")
    assert renamed.plan is not None and "update" in renamed.hooks and "optimize" not in renamed.hooks
    # An included file open in the editor: a change to it re-checks its includer, findings land in it.
    base_text = BASE.read_text()
    assert await open_file(client, BASE) == []
    broken = base_text.replace("clip -> optimize", "clip -> optimise")
    found = await change(client, BASE, broken, 2)
    assert _codes(found) == [("HP002", 24, 25)]  # through finetune.pipe: no fragment-only HP103/HP104
    close(client, BASE)
    close(client, FINETUNE)


async def test_hover(client: LanguageClient) -> None:
    await open_file(client, DIGITS)

    async def hover(line: int, word: str, nth: int = 1) -> types.Hover:
        """Hover inside ``word`` (its first word is under the cursor); the answer's range is all of it."""
        result = await client.text_document_hover_async(types.HoverParams(
            text_document=doc(DIGITS), position=pos(line, column(DIGITS, line, word, nth) + 1)))
        assert result is not None
        assert result.range == span_of(DIGITS, line, word, nth)
        return result

    kind = (await hover(17, "grad_clip")).contents.value
    assert "`max_norm`" in kind and "writes `grads`" in kind and "`step.after`" in kind and "default `'norm'`" in kind
    arg = (await hover(17, "max_norm")).contents.value
    assert arg.startswith("`max_norm`: `") and "argument of `grad_clip`" in arg
    name = (await hover(26, "evaluate")).contents.value
    assert "hook evaluate = validation(callback = digits.evaluate)" in name
    assert "reads `params`; writes `metrics`" in name and "`step.after` every 200 steps" in name
    steps = (await hover(31, "every 200 steps")).contents.value
    assert "Fires at global_step_id 199, 399, 599, 799, 999, ..." in steps
    epochs = (await hover(36, "every epoch")).contents.value
    assert "Fires at epoch_id 0, 1, 2, 3, 4: 5 times in this run (max_epoch = 5)." in epochs
    alias = (await hover(19, "digits")).contents.value
    assert 'use digits = "examples.digits.train"' in alias
    to_use = await client.text_document_definition_async(types.DefinitionParams(
        text_document=doc(DIGITS), position=pos(19, column(DIGITS, 19, "digits") + 1)))
    assert isinstance(to_use, types.Location) and to_use.range == span_of(DIGITS, 3, "digits")
    uses = await client.text_document_references_async(types.ReferenceParams(
        text_document=doc(DIGITS), position=pos(3, column(DIGITS, 3, "digits")),
        context=types.ReferenceContext(include_declaration=False)))
    assert sorted(r.range.start.line + 1 for r in uses) == [10, 11, 14, 19, 21]


async def test_document_symbols(client: LanguageClient) -> None:
    await open_file(client, DIGITS)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(DIGITS)))
    names = [s.name for s in symbols]
    assert names == ["digits", "trainer", "clip", "optimize", "evaluate", "save", "speed", "loop",
                     "order evaluate before save"]
    clip = symbols[2]
    assert clip.kind == types.SymbolKind.Function and clip.detail == "grad_clip"
    assert clip.selection_range == span_of(DIGITS, 17, "clip")
    loop = symbols[7]
    assert [c.name for c in loop.children] == ["loop.before", "epoch", "loop.after"]
    step_after = loop.children[1].children[0].children[0]
    assert step_after.name == "step.after"
    assert [a.name for a in step_after.children] == ["clip", "optimize", "evaluate", "save", "speed"]


async def test_completion(client: LanguageClient, tmp_path: Path) -> None:
    await open_file(client, DIGITS)
    scratch = tmp_path / "scratch.pipe"
    text = DIGITS.read_text()
    cases = [
        ("                clip -> optimize\n", "                clip -> optimize\n                ", None,
         {"clip", "optimize", "evaluate", "save", "speed"}),
        ("                evaluate every 200 steps\n", "                evaluate every 200 ", None,
         {"steps", "updates", "batches"}),  # what a step phase counts (epochs are HP007 there)
        ('hook clip     = grad_clip(mode = "norm", max_norm = 1.0)\n', "hook clip     = grad_clip(", None,
         {"mode", "max_norm", "clip_value", "norm_type"}),
        ("hook optimize = optimizer()\n", "hook optimize = ", None, {"optimizer", "grad_clip", "digits"}),
        ("    epoch {\n", "    epoch {\n        ", None, {"step", "before", "after"}),
        ("    reads time", "    reads ", None, {"grads", "params", "time"}),
        ("                speed    every 50 steps on main\n", "                speed    every 50 steps on ", None,
         {"main"}),
    ]
    version = 1
    opened = False
    for line, typed, _, expected in cases:
        broken = text.replace(line, typed, 1)
        assert broken != text
        cursor = broken.index(typed) + len(typed)
        row = broken.count("\n", 0, cursor)
        col = cursor - (broken.rfind("\n", 0, cursor) + 1)
        version += 1
        if not opened:
            await open_file(client, scratch, broken, version)
            opened = True
        else:
            await change(client, scratch, broken, version)
        result = await client.text_document_completion_async(types.CompletionParams(
            text_document=doc(scratch), position=types.Position(line=row, character=col)))
        labels = {item.label for item in (result.items if isinstance(result, types.CompletionList) else result)}
        assert expected <= labels, (typed, labels)
    close(client, scratch)


async def test_formatting(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "messy.pipe"
    messy = "trainer{max_step=10}\nhook  o=optimizer( )\nloop{epoch{step{after{o}}}}\n"
    await open_file(client, path, messy)
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=doc(path), options=types.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert apply(messy, edits) == format_text(messy).text
    close(client, path)


async def test_lint_configuration_from_pyproject(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.hookpipe.lint]\nignore = ["HP103"]\nwarnings-as-errors = true\n')
    path = tmp_path / "p.pipe"
    path.write_text("trainer {\n    max_step = 10\n}\nhook o = optimizer()\nhook spare = optimizer()\n"
                    "loop {\n    epoch {\n        step {\n            after { o }\n        }\n    }\n}\n")
    found = await open_file(client, path)
    assert found == [] and _lint(path) == []
    path.write_text(path.read_text().replace("after { o }", "after { o every 20 steps }"))
    found = await change(client, path, path.read_text(), 2)
    assert _codes(found) == _lint(path) == [("HP101", 9, 23)]
    assert found[0].severity == types.DiagnosticSeverity.Error  # promoted by warnings-as-errors
    close(client, path)


async def test_show_graph_command(client: LanguageClient) -> None:
    await open_file(client, DIGITS)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="hookpipe.renderGraph", arguments=[uri(DIGITS)]))
    assert result["svg"].lstrip().startswith(("<?xml", "<svg")) and "optimize" in result["svg"]
