"""Render a generated 1,000-attachment pipeline to SVG and print how long it took.

The pipeline spreads its attachments over every phase, in written chains of ten,
with custom hook types whose effects link them across chains, plus `order`
statements: a shape with many clusters and edges, not just a long list.

    python benchmarks/render_1k.py [--attachments 1000] [--renderer EXE]

Prints one line per stage (compile, DOT text, layout to SVG) and the total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from hookpipe.compiler.pipeline import compile_path
from hookpipe.render import render_compilation
from hookpipe.render.dot import to_dot
from hookpipe.render.engine import find_renderer
from hookpipe.render.model import from_compilation

PHASES = [("loop", "before"), ("epoch", "before"), ("step", "before"), ("batch", "before"),
          ("forward", "before"), ("forward", "after"), ("backward", "before"), ("backward", "after"),
          ("batch", "after"), ("step", "after"), ("epoch", "after"), ("loop", "after")]
NEST = {"loop": None, "epoch": "loop", "step": "epoch", "batch": "step", "forward": "batch", "backward": "batch"}


def pipeline(count: int) -> str:
    """Pipeline text with ``count`` attachments (one hook declared per attachment)."""
    lines = ["pipeline \"bench\"", "", "trainer {", "    max_step = 100000", "}", ""]
    resources = ["r0", "r1", "r2", "r3"]
    for i in range(count):
        effect = f"writes {resources[i % 4]}" if i < 120 and i % 10 == 0 else f"reads {resources[i % 4]}"
        lines.append(f"hook h{i} = \"bench.Hook{i % 7}\"(index = {i}) {{ {effect} }}")
    per_phase: dict[tuple[str, str], list[str]] = {key: [] for key in PHASES}
    for start in range(0, count, 10):
        key = PHASES[(start // 10) % len(PHASES)]
        chain = " -> ".join(f"h{i}" for i in range(start, min(start + 10, count)))
        unit = "" if key[0] in ("loop",) else (" every 2 epochs" if key[0] == "epoch" else " every 5 steps")
        per_phase[key].append(chain.replace(" -> ", f"{unit} -> ", 1) if unit else chain)
    lines.append("")
    lines += _scope("loop", per_phase, 0)
    lines += [f"order h{i} before h{i + 120}" for i in range(0, count - 120, 97)]
    return "\n".join(lines) + "\n"


def _scope(scope: str, per_phase: dict[tuple[str, str], list[str]], depth: int) -> list[str]:
    pad = "    " * depth
    out = [f"{pad}{scope} {{", f"{pad}    before {{"]
    out += [f"{pad}        {c}" for c in per_phase[(scope, "before")]]
    out.append(f"{pad}    }}")
    for child, parent in NEST.items():
        if parent == scope:
            out += _scope(child, per_phase, depth + 1)
    out.append(f"{pad}    after {{")
    out += [f"{pad}        {c}" for c in per_phase[(scope, "after")]]
    out += [f"{pad}    }}", f"{pad}}}"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attachments", type=int, default=1000)
    parser.add_argument("--renderer", help="Graphviz executable (default: the resolver's choice)")
    args = parser.parse_args()
    renderer = find_renderer(args.renderer)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "bench.pipe"
        source.write_text(pipeline(args.attachments))
        t0 = time.perf_counter()
        ctx = compile_path(source)
        t1 = time.perf_counter()
        model = from_compilation(ctx)
        to_dot(model)
        t2 = time.perf_counter()
        render_compilation(ctx, Path(folder) / "bench.svg", renderer.path)
        t3 = time.perf_counter()
        errors = [d for d in ctx.diagnostics if d.severity == "error"]
        edges = len(model.edges)
    print(f"renderer: {renderer.path} ({renderer.source})")
    print(f"attachments: {model.node_count}, edges: {edges}, compile errors: {len(errors)}")
    print(f"compile: {t1 - t0:.2f} s, model + DOT text: {t2 - t1:.2f} s, render to SVG: {t3 - t2:.2f} s")
    print(f"render {model.node_count} attachments to SVG: {t3 - t1:.2f} s (budget 5 s)")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
