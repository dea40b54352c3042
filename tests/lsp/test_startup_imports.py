"""``hookpipe lsp`` answers ``initialize`` before it imports the compiler (issue 28: start-up CPU).

An editor waits for the ``initialize`` answer; pygls and lsprotocol are all that
answer needs. The compiler (pydantic, lark, networkx and hookpipe's passes) is
loaded on ``initialized``, after the answer went out. A real server process
records each module it loads (Python's ``import`` audit event) into a file; the
client reads that file when the answer arrives, and again after the first
diagnostics, so a start-up import added by mistake shows up here by name rather
than as a slower start.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

#: The server as ``hookpipe lsp`` runs it, writing each newly loaded module's name to ``argv[1]`` at once.
RECORDING_SERVER = """\
import sys
log = open(sys.argv[1], "w", encoding="utf-8", buffering=1)
def record(event, args):
    if event == "import" and not log.closed:
        log.write(args[0] + "\\n")
sys.addaudithook(record)
from hookpipe.cli import main
sys.exit(main(["lsp"]))
"""

#: Loaded only once the client has its ``initialize`` answer.
DEFERRED = ("pydantic", "pydantic_core", "lark", "networkx", "graphviz", "numpy", "torch", "accelerate",
            "robo_orchard_core", "hookpipe.compiler", "hookpipe.dsl.grammar", "hookpipe.dsl.parser",
            "hookpipe.lint", "hookpipe.render", "hookpipe.runtime", "hookpipe.lsp.state")

PIPELINE = ("trainer {\n    max_step = 100\n}\nhook optimize = optimizer()\n"
            "loop { epoch { step { after {\n    optimize\n} } } }\n")


def _loaded(log: Path) -> set[str]:
    return set(log.read_text(encoding="utf-8").split())


def _deferred_among(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == d or m.startswith(d + ".") for d in DEFERRED))


async def test_initialize_is_answered_before_the_compiler_is_imported(tmp_path: Path) -> None:
    log = tmp_path / "imports.txt"
    client = LanguageClient("startup-imports", "1")
    diagnostics: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        diagnostics.put_nowait(params)

    await client.start_io(sys.executable, "-c", RECORDING_SERVER, str(log))
    try:
        answer = await asyncio.wait_for(client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities())), 60)
        assert answer.server_info is not None and answer.server_info.name == "hookpipe"
        at_answer = _loaded(log)
        assert "hookpipe.lsp.server" in at_answer  # the record is live: the server's own module is in it
        assert _deferred_among(at_answer) == []

        client.initialized(types.InitializedParams())
        path = tmp_path / "train.pipe"
        path.write_text(PIPELINE, encoding="utf-8")
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=path.resolve().as_uri(), language_id="pipe", version=1, text=PIPELINE)))
        first = await asyncio.wait_for(diagnostics.get(), 60)
        assert first.uri == path.resolve().as_uri()
        after = _deferred_among(_loaded(log))
        for needed in ("pydantic", "lark", "networkx", "hookpipe.compiler", "hookpipe.lint"):
            assert needed in after  # what the first diagnostics took, loaded after the answer
        assert not any(m.split(".")[0] in ("torch", "accelerate", "robo_orchard_core") for m in after)
    finally:
        await asyncio.wait_for(client.shutdown_async(None), 60)
        client.exit(None)
        await client.stop()
