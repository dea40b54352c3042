"""`hookpipe fmt`: canonical, idempotent, comment-preserving, and never changing a Plan's hash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookpipe.cli import main as cli
from hookpipe.compiler.loader import load_text
from hookpipe.compiler.pipeline import run_passes
from hookpipe.dsl.formatter import format_text
from tests.helpers import FIXTURES, ROOT, examples, golden, run_cli


def _outcome(text: str) -> tuple[list[str], str | None]:
    """What a compile of ``text`` means: its diagnostic codes and, if clean, the plan hash."""
    ctx = run_passes(load_text(text, "p.pipe"), "p.pipe")
    return sorted(d.code for d in ctx.diagnostics), ctx.plan.content_hash if ctx.plan else None


def _comments(text: str) -> list[str]:
    return sorted(m.group().rstrip() for m in re.finditer(r"#[^\n]*", text))


@pytest.mark.parametrize("example", examples(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_is_already_formatted(example: Path) -> None:
    text = example.read_text()
    assert format_text(text, str(example)).text == text


def test_fmt_check_passes_on_the_examples_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["fmt", "--check", str(ROOT / "examples")]) == 0
    assert f"{len(examples())} file" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(p.stem for p in (FIXTURES / "fmt").glob("*.input")))
def test_fixture_pairs(name: str) -> None:
    source = (FIXTURES / "fmt" / f"{name}.input").read_text()
    result = format_text(source)
    assert result.text is not None
    assert result.text == golden(FIXTURES / "fmt" / f"{name}.expected", result.text)
    assert format_text(result.text).text == result.text
    assert _outcome(result.text) == _outcome(source)
    assert _comments(result.text) == _comments(source)


def test_check_diff_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    messy = nested / "m.pipe"
    messy.write_text((FIXTURES / "fmt" / "messy.input").read_text())
    clean = tmp_path / "clean.pipe"
    clean.write_text((FIXTURES / "fmt" / "messy.expected").read_text())

    assert cli(["fmt", "--check", str(tmp_path)]) == 1
    assert f"would reformat {messy}" in capsys.readouterr().err
    assert messy.read_text() == (FIXTURES / "fmt" / "messy.input").read_text()

    assert cli(["fmt", "--diff", str(messy)]) == 0
    out = capsys.readouterr().out
    assert "+    max_step = 10_000  # c1" in out and "-  max_step=10_000 # c1" in out
    assert messy.read_text() == (FIXTURES / "fmt" / "messy.input").read_text()

    assert cli(["fmt", str(tmp_path)]) == 0
    assert messy.read_text() == clean.read_text()
    assert cli(["fmt", "--check", str(tmp_path)]) == 0
    assert [p.name for p in nested.iterdir()] == ["m.pipe"]  # no temporary files left


def test_syntax_errors_are_reported_and_the_file_is_left_alone(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pipe"
    bad.write_text("hook a =   \nloop {\n")
    assert cli(["fmt", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "HP001" in err and "not formatted" in err
    assert bad.read_text() == "hook a =   \nloop {\n"


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert cli(["fmt", str(tmp_path / "nope.pipe")]) == 2


#: A chain split over two lines, each with a trailing comment, and no suppression anywhere.
SPLIT_CHAIN = ("trainer { max_step = 100 }\nhook clip = grad_clip(max_norm = 1.0)\nhook optimize = optimizer()\n"
               "loop { epoch { step { after {\n  clip ->   # before opt\n   optimize   # after opt\n} } } }\n")


def test_comments_inside_a_joined_chain_move_to_the_end_of_its_line() -> None:
    """docs/fmt.md: a comment inside a value joined onto one line moves to the end of that line."""
    result = format_text(SPLIT_CHAIN, "m.pipe")
    assert result.text is not None
    assert "\n                clip -> optimize  # before opt  # after opt\n" in result.text
    assert format_text(result.text, "m.pipe").text == result.text
    assert _outcome(result.text) == _outcome(SPLIT_CHAIN)


def test_fmt_formats_a_split_chain_with_comments_and_exits_0(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """No `# hookpipe: ignore[...]` in the file: fmt neither refuses it nor blames one, and counts it."""
    path = tmp_path / "m.pipe"
    path.write_text(SPLIT_CHAIN)
    assert cli(["fmt", "--check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "ignore[" not in err and "hookpipe fmt: 1 file, 1 would reformat\n" in err, err
    assert cli(["fmt", "--diff", str(path)]) == 0
    captured = capsys.readouterr()
    assert "+                clip -> optimize  # before opt  # after opt" in captured.out
    assert "hookpipe fmt: 1 file, 1 would reformat\n" in captured.err
    assert cli(["fmt", str(path)]) == 0
    assert "hookpipe fmt: 1 file, 1 reformatted\n" in capsys.readouterr().err
    assert path.read_text() == format_text(SPLIT_CHAIN).text
    assert cli(["fmt", "--check", str(path)]) == 0


def test_a_file_fmt_refuses_is_counted_as_not_formatted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Joining would put `window` under a real suppression: refused, and the summary says so (exit 1)."""
    path = tmp_path / "s.pipe"
    text = "hook a = loss_log(  # first\n    window = 1)  # hookpipe: ignore[HP101]\n"
    path.write_text(text)
    assert cli(["fmt", "--check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "s.pipe: not formatted: it would move code onto or off a line with a `# hookpipe: ignore[...]`" in err
    assert "hookpipe fmt: 1 file, 0 would reformat, 1 not formatted (see above)" in err
    assert path.read_text() == text


# --- property: random pipelines with random layout ------------------------------------------

NAMES = ["clip", "opt", "ev", "save", "speed", "log", "a", "b_2"]
PHASE_UNITS = {"loop": [], "epoch": ["every epoch", "every 2 epochs"],
               "step": ["every 5 steps", "every update", "every 3 updates"],
               "batch": ["every step"], "forward": ["every 10 steps"], "backward": []}
CHILDREN = {"loop": ["epoch"], "epoch": ["step"], "step": ["batch"], "batch": ["forward", "backward"],
            "forward": [], "backward": []}


@st.composite
def pipelines(draw: st.DrawFn) -> str:
    sp = lambda: draw(st.sampled_from([" ", "  ", "\t", "   "]))  # noqa: E731
    tight = lambda: draw(st.sampled_from(["", " ", "  "]))  # noqa: E731
    comment = lambda: draw(st.sampled_from(["", "", "", "  # note", " #x", "\t# a = b, c"]))  # noqa: E731
    gap = lambda: draw(st.sampled_from(["", "", "\n", "\n\n", "# own line\n"]))  # noqa: E731
    out: list[str] = []
    if draw(st.booleans()):
        out.append(f'pipeline{sp()}"p{draw(st.integers(0, 9))}"{comment()}\n')
    out.append(gap())
    if draw(st.booleans()):
        out.append(f'use{sp()}m{tight()}={tight()}"pkg.mod"{comment()}\n')
    settings_ = [f"max_step{tight()}={tight()}{draw(st.sampled_from(['100', '1_000', '20']))}"]
    if draw(st.booleans()):
        settings_.append(f"lr{tight()}={tight()}{draw(st.sampled_from(['1e-3', '0.5', '2.0E+2', '-0.25']))}")
    if draw(st.booleans()):
        settings_.append(f'model{tight()}={tight()}"pkg.M"({tight()}width{tight()}={tight()}[1,{tight()}2{tight()}],'
                         f"{tight()}opts = {{k = true, n = none}}{tight()})")
    out.append("trainer" + tight() + "{" + comment() + "\n"
               + "".join(f"{sp()}{s}{comment()}\n{gap()}" for s in settings_) + "}\n")
    hooks = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    for i, name in enumerate(hooks):
        effects = draw(st.sampled_from(["", " { reads r1 }", " {\n  writes r2, r3\n reads r1\n}", " {}"]))
        args = draw(st.sampled_from(["", f"n{tight()}={tight()}{i}", 'f = "x", g = -1.5']))
        out.append(f'{gap()}hook{sp()}{name}{tight()}={tight()}"pkg.T{i}"({args}){effects}{comment()}\n')
    out.append(gap())

    def attachment(scope: str) -> str:
        name = draw(st.sampled_from(hooks))
        mods = []
        if PHASE_UNITS[scope] and draw(st.booleans()):
            mods.append(draw(st.sampled_from(PHASE_UNITS[scope])))
            if draw(st.booleans()):
                mods.append(f"from {draw(st.integers(1, 4))}")
            if draw(st.booleans()):
                mods.append("and at end")
        if draw(st.booleans()):
            mods.append("on main")
        return " ".join([name, *mods]).replace(" ", sp())

    def chain(scope: str) -> str:
        items = [attachment(scope) for _ in range(draw(st.integers(1, 3)))]
        return draw(st.sampled_from([" -> ", "->", " ->\n      "])).join(items)

    def phase(scope: str, which: str, depth: int) -> str:
        chains = [chain(scope) for _ in range(draw(st.integers(0, 3)))]
        if len(chains) <= 1 and "\n" not in "".join(chains) and draw(st.booleans()):
            return f"{which}{tight()}{{ {''.join(chains)} }}{comment()}"
        body = "".join(f"{'  ' * (depth + 1)}{c}{comment()}\n{gap()}" for c in chains)
        return f"{which} {{{comment()}\n{body}{'  ' * depth}}}"

    def scope(name: str, depth: int) -> str:
        parts = []
        if draw(st.booleans()):
            parts.append(phase(name, "before", depth + 1))
        for child in CHILDREN[name]:
            if draw(st.booleans()):
                parts.append(scope(child, depth + 1))
        if draw(st.booleans()):
            parts.append(phase(name, "after", depth + 1))
        pad = "  " * (depth + 1)
        return f"{name} {{\n" + "".join(f"{pad}{p}\n" for p in parts) + "  " * depth + "}"

    out.append(scope("loop", 0) + comment() + "\n")
    for _ in range(draw(st.integers(0, 2))):
        a, b = draw(st.sampled_from(hooks)), draw(st.sampled_from(hooks))
        keyword = draw(st.sampled_from(["order", "require"]))
        out.append(f"{gap()}{keyword}{sp()}{a} {draw(st.sampled_from(['before', 'after']))} {b}{comment()}\n")
    return "".join(out)


@pytest.mark.slow  # a fuzz: 150 generated pipelines
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_fmt_is_idempotent_and_keeps_meaning_and_comments(source: str) -> None:
    first = format_text(source, "p.pipe")
    assert first.text is not None, (source, first.diagnostics)
    assert format_text(first.text, "p.pipe").text == first.text
    assert _outcome(first.text) == _outcome(source)
    assert _comments(first.text) == _comments(source)
    assert all(line == line.rstrip() for line in first.text.splitlines())


def test_a_value_too_long_for_one_line_is_left_as_written_not_a_failure(tmp_path: Path) -> None:
    """Joined, 17,000 milestones pass the parser's 100,000-character line limit: fmt must not write that."""
    items = ",\n    ".join(str(1000 + i) for i in range(17000))
    text = ('trainer {\n    max_step = 10\n    lr_scheduler = "torch.optim.lr_scheduler.MultiStepLR"(milestones = [\n'
            f"    {items}\n    ])\n}}\nhook optimize = optimizer()\nloop {{ epoch {{ step {{ after {{ optimize }} }} }} }}\n")
    path = tmp_path / "milestones.pipe"
    path.write_text(text)
    for flags in (["--check"], []):
        result = run_cli("fmt", *flags, str(path))
        assert result.code == 0, result.err
        assert "left as written: formatting would join a value onto one line of" in result.err
        assert "1 left as written (a value too long for one line)" in result.err
        assert path.read_text() == text
