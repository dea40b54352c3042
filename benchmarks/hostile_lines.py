"""The front end on adversarial lines: time against line length, which must grow linearly.

Run: python -m benchmarks.hostile_lines [--rounds 3] [--sizes 10000 50000 100000]

Each line is one a lexer with a backtracking string pattern rescans from every
quote (a line of ``"\\`` pairs took 20 s at 32,000 characters, a quadratic curve),
or an unterminated form that must fail once. Each is parsed as a whole file by
``parse_text`` (the parse, then the error recovery's split and the HP001
diagnostic) and by the language server's ``ParseCache``; the best of ``--rounds``
is printed per size, with the time per 1,000 characters, which stays flat when
the time is linear. ``tests/test_lexer.py`` checks the shape on shorter lines.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from hookpipe.dsl.incremental import ParseCache
from hookpipe.dsl.parser import parse_text

#: name -> (what the line starts with, the unit repeated, what it ends with).
SHAPES: dict[str, tuple[str, str, str]] = {
    'quote-backslash pairs (`"\\"\\...`)': ("", '"\\', ""),
    "an escaped quote run, never closed": ('use m = "', '\\"', ""),
    "a backslash run, never closed": ('use m = "', "\\\\", ""),
    "a string never closed": ('use m = "', "a", ""),
    "quotes only": ("", '"', ""),
    "a comment of quotes and backslashes": ("# ", '"\\', ""),
    "one long string with escapes": ('use m = "', 'a\\"', '"'),
    "digits then a letter": ("trainer {\n x = ", "1", "x\n}"),
    "digit-underscore run": ("trainer {\n x = ", "1_", ".e\n}"),
    "a long name, unfinished": ("hook ", "a", ""),
}


def line(shape: str, chars: int) -> str:
    """The file of ``shape`` whose long line has at most ``chars`` characters (the line limit is 100,000)."""
    head, unit, tail = SHAPES[shape]
    first, _, last = f"{head}\0{tail}".partition("\0")
    used = len(first.rsplit("\n", 1)[-1]) + len(last.split("\n", 1)[0])
    return first + unit * ((chars - used) // len(unit)) + last


def parse_seconds(text: str, rounds: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """The best of ``rounds`` whole front-end parses of ``text`` (a fresh ``ParseCache`` each), timed by ``clock``."""
    best = float("inf")
    for _ in range(rounds):
        start = clock()
        parse_text(text, "hostile.pipe")
        ParseCache().parse(text, "hostile.pipe")
        best = min(best, clock() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    args = parser.parse_args()
    parse_seconds(line("a string never closed", 100), 1)  # builds the parser and the HP001 help index
    print("| line | " + " | ".join(f"{n:,} chars" for n in args.sizes) + " | per 1k chars |")
    print("| --- |" + " --- |" * (len(args.sizes) + 1))
    for name in SHAPES:
        seconds = [parse_seconds(line(name, n), args.rounds) for n in args.sizes]
        per_k = " / ".join(f"{s / n * 1e6:.1f}" for s, n in zip(seconds, args.sizes))
        print(f"| {name} | " + " | ".join(f"{s * 1e3:.1f} ms" for s in seconds) + f" | {per_k} ms |")


if __name__ == "__main__":
    main()
