"""The language server counts lines as the parser does: at ``\\n`` alone (see tests/test_line_model.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.helpers import close, doc, open_file

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest.mark.parametrize("breaker", ["\u2028", "\f", "\x85"], ids=["U+2028", "U+000C", "U+0085"])
async def test_completion_after_a_comment_with_a_line_breaking_character(client: LanguageClient, tmp_path: Path,
                                                                         breaker: str) -> None:
    path = tmp_path / "p.pipe"
    text = f"# one{breaker}two{breaker}three\nhook c = grad_clip("
    found = await open_file(client, path, text)
    assert found and all(d.range.start.line == 1 for d in found)  # the unfinished call, on line 2
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=doc(path), position=types.Position(line=1, character=len("hook c = grad_clip("))))
    labels = {item.label for item in (result.items if isinstance(result, types.CompletionList) else result)}
    assert {"max_norm", "clip_value"} <= labels, labels
    close(client, path)
