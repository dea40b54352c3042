"""The text scan completion relies on: which blocks enclose the cursor."""

from __future__ import annotations

from hookpipe.lsp.completion import complete, frames


def _labels(text: str) -> set[str]:
    return {item.label for item in complete(text, None)}


def test_frames_follow_nesting_and_close_brackets() -> None:
    text = "loop {\n    epoch {\n        after { a }\n        step {\n            after {\n                "
    assert [f.words for f in frames(text)] == [("loop",), ("epoch",), ("step",), ("after",)]


def test_a_hook_with_arguments_opens_an_effects_block() -> None:
    (frame,) = frames("hook s = probes.Speed(window = 5) {\n    ")
    assert frame.words[0] == "hook" and frame.words[-1] == ")"
    assert _labels("hook s = probes.Speed(window = 5) {\n    ") == {"reads", "writes", "consumes"}


def test_strings_and_comments_do_not_open_blocks() -> None:
    assert frames('use a = "x{("  # {\n') == []
    assert "hook" in _labels('use a = "x{("  # {\n')


def test_scopes_offer_only_their_children() -> None:
    assert _labels("loop {\n    epoch {\n        step {\n            batch {\n                ") == {
        "forward", "backward", "before", "after"}


def test_units_after_every() -> None:
    assert _labels("loop { epoch { step { after {\n a every ") == {"step", "update", "epoch"}
    assert _labels("loop { epoch { step { after {\n a every 10 ") == {"steps", "updates", "epochs"}
