"""A client unlike VS Code: no snippet support, file watchers by dynamic registration.

Emacs 29's capabilities (as pytest-lsp records them) declare
``completionItem.snippetSupport = false`` and
``workspace.didChangeWatchedFiles.dynamicRegistration = true``, the case where
the server must send plain-text completions and ask for the watchers itself.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import REPO
from tests.lsp.helpers import TIMEOUT_S, Publications, accept_registrations, doc, open_file, pos, published, uri

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

DIGITS = REPO / "examples/digits/train.pipe"
CAPABILITIES = client_capabilities("emacs@v29.1")

BASE = '''trainer {
    max_step = 100
}

hook clip     = grad_clip(mode = "norm", max_norm = 1.0)
hook optimize = optimizer()
'''
MAIN = '''include "b.pipe"

loop {
    epoch {
        step {
            after {
                clip -> optimize
            }
        }
    }
}
'''


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "hookpipe.cli", "lsp"]),
)
async def plain(lsp_client: LanguageClient):
    lsp_client.diagnostics = Publications()
    lsp_client.registrations = accept_registrations(lsp_client)  # type: ignore[attr-defined]

    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=CAPABILITIES, root_uri=REPO.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=REPO.as_uri(), name="hookpipe")]))
    yield
    await lsp_client.shutdown_session()


async def test_the_recorded_client_is_the_case_under_test() -> None:
    item = CAPABILITIES.text_document.completion.completion_item  # type: ignore[union-attr]
    assert item is not None and item.snippet_support is False
    assert CAPABILITIES.workspace.did_change_watched_files.dynamic_registration is True  # type: ignore[union-attr]


async def _complete(client: LanguageClient, path: Path, line: int, character: int) -> dict[str, types.CompletionItem]:
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=doc(path), position=pos(line, character)))
    items = result.items if isinstance(result, types.CompletionList) else result or []
    return {item.label: item for item in items}


def _assert_plain(items: dict[str, types.CompletionItem]) -> None:
    for item in items.values():
        assert item.insert_text_format in (None, types.InsertTextFormat.PlainText), item
        assert "$" not in (item.insert_text or "") and "\n" not in (item.insert_text or ""), item


async def test_completion_is_plain_text_without_snippet_support(plain: LanguageClient, tmp_path: Path) -> None:
    lines = DIGITS.read_text(encoding="utf-8").splitlines()
    row = next(n for n, text in enumerate(lines, 1) if text.strip() == "clip -> optimize")
    text = "\n".join([*lines[:row - 1], lines[row - 1] + " ", *lines[row:]]) + "\n"
    path = tmp_path / "train.pipe"
    path.write_text(text, encoding="utf-8")
    await open_file(plain, path)

    modifiers = await _complete(plain, path, row, len(lines[row - 1]) + 2)
    assert modifiers["every"].insert_text == "every "  # the snippet is `every ${1:100} ${2:steps}`
    assert modifiers["from"].insert_text == "from "
    assert modifiers["on main"].insert_text == "on main"
    _assert_plain(modifiers)

    top = await _complete(plain, path, len(text.splitlines()) + 1, 1)
    assert top["loop"].insert_text == "loop {"  # the snippet is `loop {\n\t$0\n}`
    assert top["hook"].insert_text == "hook "
    _assert_plain(top)

    hook_line = next(n for n, t in enumerate(lines, 1) if t.startswith("hook clip"))
    types_ = await _complete(plain, path, hook_line, lines[hook_line - 1].index("=") + 3)
    assert types_["grad_clip"].insert_text == "grad_clip("  # the snippet is `grad_clip($0)`
    documentation = types_["grad_clip"].documentation  # Emacs 29 lists no documentation format
    assert isinstance(documentation, str) and "grad_clip" in documentation
    _assert_plain(types_)


async def _registrations(client: LanguageClient) -> list[types.Registration]:
    async def wait() -> list[types.Registration]:
        while not client.registrations:  # type: ignore[attr-defined]
            await asyncio.sleep(0.005)
        return list(client.registrations)  # type: ignore[attr-defined]

    return await asyncio.wait_for(wait(), TIMEOUT_S)


async def test_server_registers_file_watchers(plain: LanguageClient) -> None:
    (registration,) = await _registrations(plain)
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    # as it went over the wire: the client reads the JSON
    assert registration.register_options == {"watchers": [{"globPattern": "**/*.pipe"},
                                                           {"globPattern": "**/pyproject.toml"}]}


async def test_includer_is_rechecked_when_its_include_changes_on_disk(plain: LanguageClient, tmp_path: Path) -> None:
    main, base = tmp_path / "a.pipe", tmp_path / "b.pipe"
    base.write_text(BASE, encoding="utf-8")
    main.write_text(MAIN, encoding="utf-8")
    assert await open_file(plain, main) == []

    base.write_text(BASE.replace("hook clip ", "hook clipper "), encoding="utf-8")
    waiter = asyncio.ensure_future(published(plain, main))
    await asyncio.sleep(0)
    plain.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=uri(base), type=types.FileChangeType.Changed)]))
    found = await waiter
    assert [(str(d.code), d.range.start.line + 1) for d in found] == [("HP002", 7)]
    assert "`clip`" in found[0].message

    base.write_text(BASE, encoding="utf-8")
    waiter = asyncio.ensure_future(published(plain, main))
    await asyncio.sleep(0)
    plain.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=uri(base), type=types.FileChangeType.Changed)]))
    assert await waiter == []
