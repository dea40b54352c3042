"""Every construct of the language parses into the expected typed AST."""

from __future__ import annotations

import pytest

from hookpipe.dsl import ast
from hookpipe.dsl.parser import parse_text
from hookpipe.dsl.span import Span


def parse(text: str) -> ast.File:
    result = parse_text(text, "t.pipe")
    assert result.diagnostics == []
    assert result.file is not None
    return result.file


def test_header_use_include() -> None:
    f = parse('pipeline "x"\nuse m = "pkg.mod"\ninclude "base.pipe"\n')
    header, use, include = f.items
    assert header == ast.Header("x", Span("t.pipe", 1, 1, 1, 13))
    assert isinstance(use, ast.Use) and (use.alias, use.module) == ("m", "pkg.mod")
    assert use.alias_span == Span("t.pipe", 2, 5, 2, 6)
    assert isinstance(include, ast.Include) and include.path == "base.pipe"


def test_every_value_kind() -> None:
    f = parse(
        "trainer {\n"
        "    a = 10_000\n    b = -1\n    c = 1e-3\n    d = -0.5\n    e = \"s\\\"q\"\n"
        "    f = true\n    g = false\n    h = none\n    i = [1, 2.5, \"x\"]\n"
        "    j = { k = 1, l = [] }\n    k = m.attr\n    l = m.f(x = 1)\n    n = \"pkg.Cls\"(y = 2)\n}\n"
    )
    (trainer,) = f.items
    assert isinstance(trainer, ast.Trainer)
    v = {s.key: s.value for s in trainer.settings}
    assert isinstance(v["a"], ast.Int) and v["a"].value == 10_000
    assert isinstance(v["b"], ast.Int) and v["b"].value == -1
    assert isinstance(v["c"], ast.Float) and (v["c"].value, v["c"].text) == (1e-3, "1e-3")
    assert isinstance(v["d"], ast.Float) and v["d"].value == -0.5
    assert isinstance(v["e"], ast.Str) and v["e"].value == 's"q'
    assert isinstance(v["f"], ast.Bool) and v["f"].value is True
    assert isinstance(v["g"], ast.Bool) and v["g"].value is False
    assert isinstance(v["h"], ast.NoneValue)
    assert isinstance(v["i"], ast.ListValue) and [type(x).__name__ for x in v["i"].items] == ["Int", "Float", "Str"]
    assert isinstance(v["j"], ast.Table) and [a.name for a in v["j"].items] == ["k", "l"]
    assert isinstance(v["k"], ast.Ref) and v["k"].parts == ("m", "attr")
    assert isinstance(v["l"], ast.Call) and isinstance(v["l"].callee, ast.Ref) and v["l"].args[0].name == "x"
    assert isinstance(v["n"], ast.Call) and v["n"].callee == ast.Str("pkg.Cls", Span("t.pipe", 14, 9, 14, 18))


def test_hook_with_effects_block() -> None:
    f = parse('hook t = m.Timer(window = 5) {\n    reads time, loss\n    writes metrics\n    consumes grads\n}\n')
    (hook,) = f.items
    assert isinstance(hook, ast.HookDecl)
    assert hook.effects is not None
    assert [(e.kind, e.resources) for e in hook.effects] == [
        ("reads", ("time", "loss")), ("writes", ("metrics",)), ("consumes", ("grads",))]
    assert hook.name_span == Span("t.pipe", 1, 6, 1, 7)


def test_scopes_phases_chains_and_modifiers() -> None:
    f = parse(
        "loop {\n"
        "    before { a }\n"
        "    epoch {\n"
        "        step {\n"
        "            batch {\n                forward { before { f } }\n                backward { after { g } }\n            }\n"
        "            after {\n"
        "                a -> b every 2 updates -> c\n"
        "                d every 200 steps from 100 and at end on main\n"
        "                e every step\n"
        "            }\n"
        "        }\n"
        "        after { a every 3 epochs }\n"
        "    }\n"
        "}\n"
    )
    (loop,) = f.items
    assert isinstance(loop, ast.ScopeBlock) and loop.name == "loop"
    before, epoch = loop.body
    assert isinstance(before, ast.PhaseBlock) and before.phase == "before"
    assert isinstance(epoch, ast.ScopeBlock)
    step, epoch_after = epoch.body
    assert isinstance(step, ast.ScopeBlock) and isinstance(epoch_after, ast.PhaseBlock)
    batch, after = step.body
    assert isinstance(batch, ast.ScopeBlock) and [b.name for b in batch.body] == ["forward", "backward"]  # type: ignore[union-attr]
    assert isinstance(after, ast.PhaseBlock)
    chain, d_chain, e_chain = after.chains
    assert [a.hook for a in chain.attachments] == ["a", "b", "c"]
    b = chain.attachments[1]
    assert b.every is not None and (b.every.count, b.every.unit) == (2, "updates")
    (d,) = d_chain.attachments
    assert d.every is not None and (d.every.count, d.every.unit, d.start, d.at_end, d.on) == (200, "steps", 100, True, "main")
    assert d.span == Span("t.pipe", 11, 17, 11, 62)
    (e,) = e_chain.attachments
    assert e.every is not None and (e.every.count, e.every.unit) == (None, "step")


def test_order_and_require() -> None:
    f = parse("order a before b\norder c after d\nrequire e before f\n")
    assert [(o.first, o.relation, o.second, o.hard) for o in f.items] == [  # type: ignore[union-attr]
        ("a", "before", "b", False), ("c", "after", "d", False), ("e", "before", "f", True)]


def test_layout_rules() -> None:
    """Newlines inside brackets are layout; a chain continues after `->`; trailing commas."""
    f = parse(
        "hook a = t(\n    x = 1,\n    y = [\n        1,\n        2,\n    ],\n    z = {\n        k = 1,\n    },\n)\n"
        "loop { epoch { step { after {\n    a ->\n        b ->\n        c\n} } } }"
    )
    hook, loop = f.items
    assert isinstance(hook, ast.HookDecl) and [a.name for a in hook.args] == ["x", "y", "z"]
    after = loop.body[0].body[0].body[0]  # type: ignore[union-attr]
    assert [a.hook for a in after.chains[0].attachments] == ["a", "b", "c"]


def test_comments_are_kept_with_positions() -> None:
    f = parse('# head\nhook a = t() # trailing "not a string"\n')
    assert [(c.text, c.span.line, c.span.column) for c in f.comments] == [
        ("# head", 1, 1), ('# trailing "not a string"', 2, 14)]


def test_hash_inside_string_is_not_a_comment() -> None:
    f = parse('use m = "a#b"\n')
    assert f.comments == ()
    assert f.items[0].module == "a#b"  # type: ignore[union-attr]


@pytest.mark.parametrize("word", ["steps", "main", "loop", "epoch", "update", "step"])
def test_scope_and_unit_words_are_ordinary_names(word: str) -> None:
    f = parse(f"hook {word} = t()\n")
    assert f.items[0].name == word  # type: ignore[union-attr]


@pytest.mark.parametrize("word", ["pipeline", "use", "include", "trainer", "hook", "order", "require", "before",
                                  "after", "every", "from", "and", "at", "end", "on", "true", "false", "none",
                                  "reads", "writes", "consumes"])
def test_reserved_words_are_not_names(word: str) -> None:
    result = parse_text(f"hook {word} = t()\n", "t.pipe")
    assert result.file is None
    assert [(d.code, d.span.line, d.span.column) for d in result.diagnostics] == [("HP001", 1, 6)]


def test_empty_file_and_blank_lines() -> None:
    assert parse("").items == ()
    assert parse("\n\n# only a comment\n\n").items == ()


def test_crlf_and_bom_are_read_as_plain_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hookpipe.compiler.loader import read_source

    p = tmp_path / "x.pipe"
    p.write_bytes(b"\xef\xbb\xbfhook a = t()\r\nhook b = t()\r\n")
    text = read_source(p)
    assert [i.name for i in parse(text).items] == ["a", "b"]  # type: ignore[union-attr]
