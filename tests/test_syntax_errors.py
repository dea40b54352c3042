"""HP001: positions, words a person understands, help lines, several errors at once."""

from __future__ import annotations

import pytest

from hookpipe.dsl.parser import parse_text
from hookpipe.dsl.syntax_errors import examples

CASES = [(label, snippet) for label, snippets in examples().items() for snippet in snippets]


@pytest.mark.parametrize("label,snippet", CASES)
def test_every_example_gets_its_help(label: str, snippet: str) -> None:
    result = parse_text(snippet, "t.pipe")
    assert result.file is None
    assert result.diagnostics[0].code == "HP001"
    assert result.diagnostics[0].help == label


def test_help_matches_when_nested_deeper_than_the_example() -> None:
    text = "loop {\n    epoch {\n        step {\n            after { clip, optimize }\n        }\n    }\n}\n"
    (d,) = parse_text(text, "t.pipe").diagnostics
    assert (d.span.line, d.span.column) == (4, 25)
    assert d.help == "attach one hook per line, or chain them in order with `->` (`a -> b`)"


def test_messages_use_words_not_token_names() -> None:
    (d,) = parse_text("hook a = t(x = )\n", "t.pipe").diagnostics
    assert d.message == "unexpected `)`; expected a value"
    for d in parse_text("loop {\n after { a, b }\n}", "t.pipe").diagnostics:
        assert "_NL" not in d.message and "RBRACE" not in d.message and "NAME" not in d.message


def test_independent_errors_are_all_reported() -> None:
    text = "hook a = t(x = )\nhook b = optimizer()\norder a then b\nuse m = pkg\nhook c = u()\n"
    diagnostics = parse_text(text, "t.pipe").diagnostics
    assert [(d.span.line, d.span.column) for d in diagnostics] == [(1, 16), (3, 9), (4, 9)]


def test_unclosed_block_points_at_its_opening() -> None:
    (d,) = parse_text("loop {\n    epoch {\n        after { a }\n", "t.pipe").diagnostics
    assert "end of file" in d.message
    assert d.notes and d.notes[0].span is not None
    assert (d.notes[0].span.line, d.notes[0].span.column) == (2, 11)


def test_single_quotes_get_a_hint() -> None:
    (d,) = parse_text("use m = 'pkg'\n", "t.pipe").diagnostics
    assert (d.span.line, d.span.column, d.help) == (1, 9, "strings use double quotes")


def test_the_reserved_words_help_lists_the_grammars_keywords() -> None:
    (d,) = parse_text("hook from = t()\n", "t.pipe").diagnostics
    assert d.help is not None and d.help.startswith("a reserved word cannot be a name; reserved: pipeline use include")
    words = d.help.split("reserved: ")[1].split()
    assert sorted(words) == sorted(["pipeline", "use", "include", "trainer", "hook", "order", "require", "before",
                                    "after", "with", "every", "from", "until", "and", "at", "end", "on", "true", "false", "none",
                                    "reads", "writes", "consumes"])


def test_a_reserved_word_names_an_argument() -> None:
    # A Python keyword argument is often one of them (`every`, `end`, `on`); it was HP001 with a misleading help.
    from hookpipe.compiler import compile_text
    from hookpipe.dsl.formatter import format_text

    text = ('hook count = "mypkg.CountBatches"(every = 5, end = 3, on = true, use = { at = 1, from = [2] })\n'
            "hook optimize = optimizer()\nloop { epoch { step { after {\n optimize\n count\n} } } }\n")
    result = parse_text(text, "t.pipe")
    assert result.diagnostics == [] and result.file is not None
    plan = compile_text("trainer { max_step = 10 }\n" + text, "t.pipe")
    assert plan.hook("count").args == {"every": 5, "end": 3, "on": True, "use": {"at": 1, "from": [2]}}
    formatted = format_text(text, "t.pipe").text
    assert formatted is not None
    assert '"mypkg.CountBatches"(every = 5, end = 3, on = true, use = { at = 1, from = [2] })' in formatted
    assert parse_text(formatted, "t.pipe").diagnostics == []
    # Still keywords everywhere else, and a missing argument name still reads as one.
    (d,) = parse_text("hook every = optimizer()\n", "t.pipe").diagnostics
    assert d.code == "HP001" and d.help is not None and d.help.startswith("a reserved word cannot be a name")
    (d,) = parse_text("hook a = t(x = 1, = 2)\n", "t.pipe").diagnostics
    assert d.message == "unexpected `=`; expected a name or `)`"
