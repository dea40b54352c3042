"""Opening documents and waiting for what the server publishes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

TIMEOUT_S = 20.0


def uri(path: Path) -> str:
    return path.resolve().as_uri()


class Publications(dict):  # type: ignore[type-arg]
    """``client.diagnostics`` that also counts publications per URI (an equal list is still news)."""

    def __init__(self) -> None:
        super().__init__()
        self.count: dict[str, int] = {}

    def __setitem__(self, key: str, value: list[types.Diagnostic]) -> None:
        self.count[key] = self.count.get(key, 0) + 1
        super().__setitem__(key, value)


def accept_registrations(client: LanguageClient) -> list[types.Registration]:
    """Answer the server's ``client/registerCapability`` as an editor does; the list collects them."""
    registrations: list[types.Registration] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    return registrations


async def published(client: LanguageClient, path: Path) -> list[types.Diagnostic]:
    """Wait until a new publication of diagnostics for ``path`` arrives."""
    target = uri(path)
    seen: Publications = client.diagnostics  # type: ignore[assignment]
    before = seen.count.get(target, 0)

    async def wait() -> list[types.Diagnostic]:
        while seen.count.get(target, 0) == before:
            await asyncio.sleep(0.005)
        return list(seen[target])

    return await asyncio.wait_for(wait(), TIMEOUT_S)


async def open_file(client: LanguageClient, path: Path, text: str | None = None,
                    version: int = 1) -> list[types.Diagnostic]:
    """Open ``path`` (with its disk text unless given) and return its first diagnostics."""
    waiter = asyncio.ensure_future(published(client, path))
    await asyncio.sleep(0)  # the waiter notes the current publication before the request goes out
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri(path), language_id="pipe", version=version,
        text=path.read_text(encoding="utf-8") if text is None else text)))
    return await waiter


async def change(client: LanguageClient, path: Path, text: str, version: int) -> list[types.Diagnostic]:
    waiter = asyncio.ensure_future(published(client, path))
    await asyncio.sleep(0)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    return await waiter


def close(client: LanguageClient, path: Path) -> None:
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri(path))))


def pos(line: int, character: int) -> types.Position:
    """A position from the 1-based line and column an editor shows."""
    return types.Position(line=line - 1, character=character - 1)


def doc(path: Path) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri(path))


def column(path: Path, line: int, word: str, nth: int = 1) -> int:
    """The 1-based column of the ``nth`` ``word`` on ``line`` of ``path``: expected positions come from the text."""
    text = path.read_text(encoding="utf-8").splitlines()[line - 1]
    at = -1
    for _ in range(nth):
        at = text.index(word, at + 1)
    return at + 1


def span_of(path: Path, line: int, word: str, nth: int = 1) -> types.Range:
    start = column(path, line, word, nth)
    return types.Range(start=pos(line, start), end=pos(line, start + len(word)))


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """``text`` with the edits applied (they do not overlap; applied from the end)."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(p: types.Position) -> int:
        return min(offsets[p.line] + p.character, len(text)) if p.line < len(lines) else len(text)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    return text
