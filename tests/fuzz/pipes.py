"""Hypothesis strategies for ``.pipe`` sources: valid pipelines and mutations of them.

Valid pipelines are built from the grammar's constructs (SPEC section 3): a header,
``use``, ``trainer``, hooks with arguments and effects, nested scope blocks with
phase blocks, chains with every modifier, ``order``/``require``. Mutations then
damage them the way editors, merges and attackers do: tokens deleted, duplicated or
swapped, random bytes spliced in, invalid UTF-8, CRLF, tabs, a BOM.
"""

from __future__ import annotations

from hypothesis import strategies as st

SCOPE_PATH = ("loop", "epoch", "step", "batch", "forward", "backward")
BUILTIN_CALLS = (
    "optimizer()",
    'grad_clip(mode = "norm", max_norm = 1.0)',
    "loss_log(window = 5)",
    "throughput(window = 10, progress = false)",
    'checkpoint(dir = "runs/x", keep_last = 2)',
    "validation(callback = m.evaluate)",
    "nan_guard(max_consecutive = 3)",
    "m.Custom(a = [1, 2.5, -3], b = { k = none, j = true })",
    '"pkg.mod.Hook"(x = "s")',
)
RESOURCES = ("grads", "params", "loss", "metrics", "time", "lr", "optimizer_state", "custom")
NAMES = ("clip", "opt", "evaluate", "save", "speed", "losses", "guard", "c1", "loop", "step")

_name = st.sampled_from(NAMES)


@st.composite
def _hook(draw: st.DrawFn) -> str:
    text = f"hook {draw(_name)} = {draw(st.sampled_from(BUILTIN_CALLS))}"
    if draw(st.booleans()):
        kind = draw(st.sampled_from(("reads", "writes", "consumes")))
        res = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=3))
        text += " {\n    " + kind + " " + ", ".join(res) + "\n}"
    return text


@st.composite
def _attachment(draw: st.DrawFn) -> str:
    text = draw(_name)
    if draw(st.booleans()):
        unit = draw(st.sampled_from(("step", "steps", "update", "updates", "epoch", "epochs")))
        n = draw(st.sampled_from(("", "1 ", "2 ", "3 ", "0 ", "-1 ", "200 ")))
        text += f" every {n}{unit}"
    if draw(st.booleans()):
        text += f" from {draw(st.integers(-2, 50))}"
    if draw(st.booleans()):
        text += " and at end"
    if draw(st.booleans()):
        text += " on main"
    return text


@st.composite
def _phase(draw: st.DrawFn) -> str:
    chains = draw(st.lists(st.lists(_attachment(), min_size=1, max_size=3), max_size=3))
    body = "\n".join(" -> ".join(chain) for chain in chains)
    return f"{draw(st.sampled_from(('before', 'after')))} {{\n{body}\n}}"


@st.composite
def _scopes(draw: st.DrawFn) -> str:
    depth = draw(st.integers(1, len(SCOPE_PATH)))
    text = ""
    for scope in reversed(SCOPE_PATH[:depth]):
        phases = "\n".join(draw(st.lists(_phase(), max_size=2)))
        text = f"{scope} {{\n{phases}\n{text}\n}}"
    return text


@st.composite
def pipelines(draw: st.DrawFn) -> str:
    """A pipeline built from the grammar's constructs (mostly valid, sometimes with semantic errors)."""
    parts = []
    if draw(st.booleans()):
        parts.append('pipeline "fuzz"')
    parts.append('use m = "examples.digits.train"')
    settings = draw(st.lists(st.sampled_from((
        "max_step = 10", "max_epoch = 2", "grad_accumulation = 2", 'mixed_precision = "no"', "seed = 0",
        "model = m.build_model(hidden = 8)", 'optimizer = "torch.optim.SGD"(lr = 1e-3)', "max_step = -1",
    )), min_size=0, max_size=5))
    parts.append("trainer {\n" + "\n".join(settings) + "\n}")
    parts += draw(st.lists(_hook(), max_size=5))
    parts.append(draw(_scopes()))
    for _ in range(draw(st.integers(0, 3))):
        word = draw(st.sampled_from(("order", "require")))
        parts.append(f"{word} {draw(_name)} {draw(st.sampled_from(('before', 'after')))} {draw(_name)}")
    return "\n".join(parts) + "\n"


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    word = ""
    for ch in text:
        if ch.isalnum() or ch in "_.":
            word += ch
            continue
        if word:
            out.append(word)
            word = ""
        out.append(ch)
    if word:
        out.append(word)
    return out


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A pipeline damaged by a few token- and byte-level mutations."""
    toks = _tokens(draw(pipelines()))
    for _ in range(draw(st.integers(1, 4))):
        if not toks:
            break
        i = draw(st.integers(0, len(toks) - 1))
        op = draw(st.sampled_from(("delete", "duplicate", "swap", "insert")))
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        else:
            toks.insert(i, draw(st.sampled_from(("{", "}", "(", ")", "[", "]", "->", "\n", '"', "=", ",", "#",
                                                 "every", "include", "0", "-", "\\", "\t", "\ufeff", "\x00"))))
    data = "".join(toks).encode("utf-8")
    encoding = draw(st.sampled_from(("plain", "crlf", "cr", "tabs", "bom", "bytes", "bad-utf8")))
    if encoding == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif encoding == "cr":
        data = data.replace(b"\n", b"\r")
    elif encoding == "tabs":
        data = data.replace(b"    ", b"\t")
    elif encoding == "bom":
        data = b"\xef\xbb\xbf" + data
    elif encoding in ("bytes", "bad-utf8"):
        at = draw(st.integers(0, len(data)))
        junk = draw(st.binary(min_size=1, max_size=8)) if encoding == "bytes" else b"\xff\xc3("
        data = data[:at] + junk + data[at:]
    return data
