"""The language server on hostile input (issue 23): positions in the announced encoding, invalid
parameters answered, no read of unopened files, one bad document failing alone, escaped hover."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.helpers import ROOT
from tests.lsp.helpers import Publications, accept_registrations, change, close, doc, open_file, uri

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

NEVER_FIRES = ("trainer {\n    max_step = 100\n}\nhook optimize = optimizer()\n"
               "hook save = checkpoint(dir = \"runs/never\")\n"
               "loop { epoch { step { after {\n    optimize\n    save every 500 steps  # \U0001f642 emoji\n} } } }\n")


def _config() -> ClientServerConfig:
    return ClientServerConfig(server_command=[sys.executable, "-m", "hookpipe.cli", "lsp"])


async def _start(lsp_client: LanguageClient, encodings: list[str] | None) -> None:
    lsp_client.diagnostics = Publications()
    accept_registrations(lsp_client)  # the server asks for file watchers, as VS Code's client allows
    capabilities = client_capabilities("visual-studio-code")
    if encodings is not None:
        capabilities.general = types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind(e) for e in encodings])
    result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=capabilities, root_uri=ROOT.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=ROOT.as_uri(), name="hookpipe")]))
    lsp_client.announced = result.capabilities.position_encoding  # type: ignore[attr-defined]


@pytest_lsp.fixture(scope="module", config=_config())
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await _start(lsp_client, None)  # no encodings offered: UTF-16
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(scope="module", config=_config())
async def utf8_client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await _start(lsp_client, ["utf-8", "utf-16"])
    yield
    await lsp_client.shutdown_session()


def _apply(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    """``text`` with ``edits`` applied, reading each character offset in ``encoding``'s units (a real editor)."""
    lines = text.split("\n")

    def offset(p: types.Position) -> int:
        line = lines[p.line]
        units = 0
        for index, ch in enumerate(line):
            if units == p.character:
                return sum(len(x) + 1 for x in lines[: p.line]) + index
            assert units < p.character, f"position {p.character} splits {ch!r} in {encoding}"
            units += len(ch.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(ch.encode("utf-8"))
        assert units == p.character, f"position {p.character} is past the line ({units} units)"
        return sum(len(x) + 1 for x in lines[: p.line]) + len(line)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    return text


async def _suppress_after_emoji(client: LanguageClient, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"emoji_{encoding}.pipe"
    path.write_text(NEVER_FIRES, encoding="utf-8")
    found = await open_file(client, path)
    assert [str(d.code) for d in found] == ["HP101"]
    line = NEVER_FIRES.split("\n")[found[0].range.start.line]
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=doc(path), range=found[0].range, context=types.CodeActionContext(diagnostics=[found[0]])))
    fix = next(a for a in result or [] if isinstance(a, types.CodeAction) and a.title.startswith("Suppress"))
    assert fix.edit is not None and fix.edit.changes is not None
    edits = fix.edit.changes[uri(path)]
    # the edit starts at the end of the line, counted in the announced units (the emoji is 2 or 4 of them)
    assert edits[0].range.start.character == len(line.encode("utf-16-le" if encoding == "utf-16" else "utf-8")) // (
        2 if encoding == "utf-16" else 1)
    fixed = _apply(NEVER_FIRES, edits, encoding)
    assert f"{line}  # hookpipe: ignore[HP101]\n" in fixed
    assert await change(client, path, fixed, 2) == []
    close(client, path)


async def test_utf16_is_announced_and_computed(client: LanguageClient, tmp_path: Path) -> None:
    assert client.announced == types.PositionEncodingKind.Utf16  # type: ignore[attr-defined]
    await _suppress_after_emoji(client, tmp_path, "utf-16")


async def test_utf8_is_announced_and_computed_when_offered(utf8_client: LanguageClient, tmp_path: Path) -> None:
    assert utf8_client.announced == types.PositionEncodingKind.Utf8  # type: ignore[attr-defined]
    await _suppress_after_emoji(utf8_client, tmp_path, "utf-8")


@pytest.mark.parametrize("method", [types.TEXT_DOCUMENT_HOVER, types.TEXT_DOCUMENT_DEFINITION,
                                    types.TEXT_DOCUMENT_COMPLETION, types.TEXT_DOCUMENT_REFERENCES])
async def test_a_negative_position_gets_a_json_rpc_error(client: LanguageClient, tmp_path: Path,
                                                         method: str) -> None:
    path = tmp_path / "ok.pipe"
    path.write_text(NEVER_FIRES, encoding="utf-8")
    await open_file(client, path)
    # lsprotocol's constructor refuses a negative position; a hostile client sends one anyway
    position = types.Position(line=0, character=0)
    object.__setattr__(position, "line", -1)
    object.__setattr__(position, "character", -5)
    params = {
        types.TEXT_DOCUMENT_HOVER: types.HoverParams(text_document=doc(path), position=position),
        types.TEXT_DOCUMENT_DEFINITION: types.DefinitionParams(text_document=doc(path), position=position),
        types.TEXT_DOCUMENT_COMPLETION: types.CompletionParams(text_document=doc(path), position=position),
        types.TEXT_DOCUMENT_REFERENCES: types.ReferenceParams(
            text_document=doc(path), position=position, context=types.ReferenceContext(include_declaration=True)),
    }[method]
    with pytest.raises(Exception) as raised:
        await asyncio.wait_for(client.protocol.send_request_async(method, params), 10)
    assert not isinstance(raised.value, asyncio.TimeoutError), "never answered"
    assert "-1" in str(raised.value) or "nvalid" in str(raised.value)
    assert [str(d.code) for d in await change(client, path, NEVER_FIRES, 2)] == ["HP101"]  # still serving
    close(client, path)


async def test_unopened_fifo_is_never_read(client: LanguageClient, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.pipe"
    os.mkfifo(fifo)
    items = await asyncio.wait_for(client.text_document_completion_async(types.CompletionParams(
        text_document=doc(fifo), position=types.Position(line=0, character=0))), 10)
    assert items is not None and not (items.items if isinstance(items, types.CompletionList) else items)
    edits = await asyncio.wait_for(client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=doc(fifo), options=types.FormattingOptions(tab_size=4, insert_spaces=True))), 10)
    assert edits is None
    ok = tmp_path / "still.pipe"
    ok.write_text(NEVER_FIRES, encoding="utf-8")
    assert [str(d.code) for d in await open_file(client, ok)] == ["HP101"]  # still answering
    close(client, ok)


async def test_a_symlink_loop_document_fails_alone(client: LanguageClient, tmp_path: Path) -> None:
    loop = tmp_path / "loop.pipe"
    loop.symlink_to(loop)
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri(tmp_path) + "/loop.pipe", language_id="pipe", version=1, text=NEVER_FIRES)))
    other = tmp_path / "other.pipe"
    other.write_text(NEVER_FIRES, encoding="utf-8")
    assert [str(d.code) for d in await open_file(client, other)] == ["HP101"]
    assert [str(d.code) for d in await change(client, other, NEVER_FIRES.replace("500", "50"), 2)] == []
    close(client, other)


async def test_hover_cannot_break_out_of_its_code_block(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "hover.pipe"
    attack = "evil\\n```\\n[click](https://evil.example) ![x](https://evil.example/i.png)\\n```"
    text = f'use tools = "{attack}"\n' + NEVER_FIRES
    path.write_text(text, encoding="utf-8")
    await open_file(client, path)
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=doc(path), position=types.Position(line=0, character=5)))
    assert hover is not None
    value = hover.contents.value  # type: ignore[union-attr]
    fence, _, rest = value.partition("pipe\n")
    body, _, after = rest.partition("\n" + fence)
    assert fence.startswith("```") and set(fence) == {"`"}
    assert "\n" not in body and "https://evil.example" in body  # the whole string stays on the code line
    assert "evil.example" not in after
    close(client, path)

