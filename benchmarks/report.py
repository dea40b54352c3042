"""Markdown for the benchmark results: the tables and the machine they came from."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from benchmarks.runtime.driver import CONFIGS, Contender, median_us, overhead_us, paired_ratio, slope_us


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def runtime_section(field: list[Contender], rounds: int, warmup: int, steps: int, device: str = "cpu",
                    clock: str = "wall", hooks: list[Contender] | None = None, hook_steps: int = 0) -> str:
    base = field[0]
    labels = [label for label, _, _ in CONFIGS]
    where = "on the GPU (CUDA, bf16 autocast)" if device == "cuda" else "on the CPU (one torch thread)"
    out = [
        f"## Runtime: µs per training step, {where}",
        "",
        f"MLP 32->64->1, batch 16, SGD, MSE, clip by norm 1.0; {steps:,} timed steps after {warmup} warm-up steps; "
        f"K extra no-op hooks at the end of each step (gated: `every 1000 steps`). Median of {rounds} interleaved "
        "rounds; the ratio is the median over rounds of the contender's time over (a)'s in the same round. "
        + ("Clock: each worker's CPU time (`--clock process`), since the machine was shared."
           if clock == "process" else "Clock: wall time."),
        "",
        "| contender | " + " | ".join(labels) + " | ratio to (a), " + " / ".join(labels)
        + " | overhead over (a) at K=0 (µs/step) |",
        "|---|" + "---:|" * (len(labels) + 2),
    ]
    for c in field:
        if c.unavailable and not c.times:
            out.append(f"| ({c.key}) {c.label} | " + " | ".join("—" for _ in labels)
                       + f" | not measured: {c.unavailable} | |")
            continue
        cells = [_fmt(median_us(c, label), ".1f") for label in labels]
        ratios = " / ".join(_fmt(paired_ratio(c, base, label), ".3f") for label in labels)
        out.append(f"| ({c.key}) {c.label} | " + " | ".join(cells) + f" | {ratios} | {_fmt(overhead_us(c, base, 'K=0'), '+.1f')} |")
    out += [
        "",
        "The overhead column is the median over rounds of the contender's time minus (a)'s in the same round: "
        "what the framework adds per step, the figure that carries over to a GPU.",
    ]
    if hooks:
        out += [
            "",
            f"Cost per extra hook, measured on a tiny workload (a 4 -> 1 linear model on batches of one, {hook_steps:,} "
            "steps) so that 100 hooks stand out of the noise: median over the same interleaved rounds of "
            "(time at K=100 − time at K=0) / 100.",
            "",
            "| contender | step at K=0 (µs) | firing no-op hook (µs/step) | gated, not firing (µs/step) |",
            "|---|---:|---:|---:|",
        ]
        for c in hooks:
            if c.times:
                out.append(f"| ({c.key}) {c.label} | {_fmt(median_us(c, 'K=0'), '.1f')} | "
                           f"{_fmt(slope_us(c, 'K=100'), '.3f')} | {_fmt(slope_us(c, 'K=100 gated'), '.3f')} |")
    same = {d.split(":", 1)[1] for c in field for d in c.checksums}
    out += [
        "",
        f"Final parameters agree bit for bit across contenders: {'yes' if len(same) == 1 else 'NO'} "
        f"({', '.join(sorted(same))}).",
        "",
        "(c) and (e) have no frequency guards in their API: their gated hooks test the step themselves. "
        "(e) requires an LR scheduler; it gets an object whose `step()` does nothing.",
    ]
    notes = [f"- ({c.key}) {c.label}: not measured: {c.unavailable}" for c in field if c.unavailable]
    if notes:
        out += ["", *notes]
    versions = sorted({f"{k} {v}" for c in field for k, v in c.versions.items()})
    out += ["", "Contender versions: " + ", ".join(versions) + "."]
    return "\n".join(out)


def compiler_section(results: dict[str, list[Any]], rounds: int, baseline: str | None = None) -> str:
    from benchmarks.compiler import BASELINE, median

    out = [
        "## Compiler",
        "",
        f"Median of {rounds} interleaved runs, each its own process; peak memory is the compiling process's own "
        "peak RSS (`VmHWM`).",
    ]
    head = ["measurement", "time (s)", "µs per attachment", "peak memory (MB)"]
    if baseline is not None:
        out += ["", f"Beside each, the same measurement of the code at `{baseline}` (`--baseline`), run interleaved "
                "with this commit's on the same inputs: the speed-up is the ratio of the two medians, which holds "
                "when the machine's own speed drifts."]
        head += [f"`{baseline}` (s)", "speed-up"]
    out += ["", "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, samples in results.items():
        if name.endswith(BASELINE):
            continue
        m = median(samples)
        per = ""
        if name.startswith("compile "):
            per = f"{m.seconds / int(name.split()[1]) * 1e6:.1f}"
        peak = f"{m.peak_mb:.1f}" if m.peak_mb is not None else ""
        row = [name, f"{m.seconds:.3f}", per, peak]
        if baseline is not None:
            then = median(results[name + BASELINE])
            row += [f"{then.seconds:.3f}", f"{then.seconds / m.seconds:.2f}x"]
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def load_average() -> float | None:
    """The machine's 1-minute load average (None where the system does not say)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def document(sections: list[str], command: str, loads: tuple[float | None, float | None] = (None, None)) -> str:
    """The whole RESULTS.md; ``loads`` are the load averages when the run started and ended."""
    start, end = loads
    load = (f"load average {start:.2f} when the run started and {end:.2f} when it ended"
            if start is not None and end is not None else "load average unknown")
    head = [
        "# Benchmark results",
        "",
        f"Produced by `{command}` on {datetime.date.today().isoformat()} at commit {_commit()}.",
        "",
        f"- Machine: {_cpu()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; {load}. "
        "Every comparison is interleaved (A B C ... A B C ...) and reported as medians over rounds.",
        f"- Python {platform.python_version()}, torch {_version('torch')} (one thread), accelerate "
        f"{_version('accelerate')}, lark {_version('lark')}, pydantic {_version('pydantic')}.",
        "",
    ]
    return "\n".join(head) + "\n" + "\n\n".join(sections) + "\n"
