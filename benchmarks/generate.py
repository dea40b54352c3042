"""Generated pipelines of a given size, for compile and lint benchmarks.

The shape of a big real pipeline: a quarter as many hooks as attachments (a
hook is attached in about four phases, like a validation hook that runs before
the loop, every N steps and every epoch), built-in and custom types, custom hooks
declaring effects on a pool of resources, frequencies on most attachments,
chains, and some ``order`` statements.
"""

from __future__ import annotations

import random

#: (scope path, phase, frequency template)
_PHASES = (
    (("epoch", "step"), "after", "every {n} steps"),
    (("epoch", "step"), "after", "every {n} updates"),
    (("epoch",), "after", "every {e} epochs"),
    (("epoch", "step"), "before", "every {n} steps"),
    (("epoch", "step", "batch"), "after", "every {n} steps"),
    (("epoch",), "before", ""),
    (("epoch", "step", "batch"), "before", ""),
    (("epoch", "step", "batch", "forward"), "after", "every {n} steps"),
)


def generate(attachments: int, seed: int = 0) -> str:
    """A pipeline with exactly ``attachments`` attachments that compiles cleanly."""
    rng = random.Random(seed)
    hooks = max(1, attachments // 4)
    resources = max(1, hooks // 20)
    out = ['pipeline "generated"', 'use probes = "benchmarks.probes"', "",
           "trainer {", "    max_step          = 100_000", "    grad_accumulation = 2", "}", ""]
    writers: set[int] = set()
    for i in range(hooks):
        if i % 5 == 0:
            kind = "writes" if i % 10 == 0 else "reads"
            if kind == "writes":
                writers.add(i)
            out.append(f"hook h{i} = probes.Probe(index = {i}) {{ {kind} r{rng.randrange(resources)} }}")
        else:
            out.append(f"hook h{i} = probes.Probe(index = {i})")
    blocks: dict[tuple[int, int], list[str]] = {}  # (phase, round): hook indices rise in each
    solo: list[tuple[int, str]] = []  # writers sit in blocks of their own: the effect rule orders them
    for j in range(attachments):
        i = j % hooks
        p = (j // hooks + i) % len(_PHASES)
        line = f"h{i} " + _PHASES[p][2].format(n=rng.choice((10, 50, 100, 500)), e=rng.choice((1, 2, 5)))
        (solo.append((p, line.strip())) if i in writers else blocks.setdefault((p, j // hooks), []).append(line.strip()))
    out.append("")
    for (p, _), lines in sorted(blocks.items()):
        chained = []
        for k in range(0, len(lines), 4):  # every fourth line a chain of two
            group = lines[k:k + 4]
            if len(group) >= 2 and " every " not in group[0]:
                chained.append(f"{group[0]} -> {group[1]}")
                chained += group[2:]
            else:
                chained += group
        out += _nest(_PHASES[p], chained)
    for p, line in solo:
        out += _nest(_PHASES[p], [line])
    names = [f"h{i}" for i in range(hooks) if i not in writers]
    for k in range(0, min(len(names) - 1, 200), 2):
        out.append(f"order {names[k]} before {names[k + 1]}")
    out.append("")
    return "\n".join(out)


def _nest(phase: tuple[tuple[str, ...], str, str], lines: list[str]) -> list[str]:
    scopes, name, _ = phase
    out = ["loop {"]
    depth = 1
    for scope in scopes:
        out.append("    " * depth + scope + " {")
        depth += 1
    out.append("    " * depth + name + " {")
    out += ["    " * (depth + 1) + line for line in lines]
    out.append("    " * depth + "}")
    for d in range(depth - 1, -1, -1):
        out.append("    " * d + "}")
    return out
