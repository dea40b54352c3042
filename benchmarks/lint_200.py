"""Wall time of ``hookpipe lint`` on a folder of 200 realistic ``.pipe`` files.

Measures the whole process (interpreter start, imports, grammar, every file), as
CI and pre-commit see it, and checks that torch and accelerate are never
imported. Usage: ``python benchmarks/lint_200.py [--files 200] [--runs 5]``.
Prints the median and best wall time; exits 1 if the median exceeds --budget.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_PROBE = (
    "import sys\n"
    "from hookpipe.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "heavy = sorted(m for m in ('torch', 'accelerate', 'robo_orchard_core') if m in sys.modules)\n"
    "print('HEAVY', heavy, file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def pipeline(i: int) -> str:
    """A realistic pipeline (about 60 lines), varied by ``i`` so files differ."""
    every = 100 + 50 * (i % 7)
    accumulation = 1 + i % 3
    return f'''# generated pipeline {i}
pipeline "bench-{i}"

use project = "project.train{i % 5}"

trainer {{
    max_step          = {10_000 + 1000 * (i % 4)}
    grad_accumulation = {accumulation}
    mixed_precision   = "bf16"
    seed              = {i}
    model             = project.build_model(hidden = {64 + i % 32}, layers = [64, 32, 16])
    dataloader        = project.train_loader(batch_size = 32, shuffle = true)
    optimizer         = "torch.optim.AdamW"(lr = 1e-3, weight_decay = 0.01)
    lr_scheduler      = "torch.optim.lr_scheduler.StepLR"(step_size = 200, gamma = 0.5)
    batch_processor   = project.Processor(loss = "cross_entropy")
}}

hook clip     = grad_clip(mode = "norm", max_norm = 1.0)
hook optimize = optimizer()
hook evaluate = validation(callback = project.evaluate)
hook save     = checkpoint(dir = "runs/bench{i}", keep_last = 3)
hook losses   = loss_log(window = 20)
hook speed    = throughput(window = 50)
hook timer    = project.Timer(name = "step") {{
    reads time
}}
hook ema      = project.Ema(decay = 0.999) {{
    reads params
    writes ema_params
}}

loop {{
    before {{ evaluate }}
    epoch {{
        before {{ timer }}
        step {{
            before {{ timer }}
            batch {{
                forward {{ after {{ timer }} }}
                backward {{ after {{ timer }} }}
            }}
            after {{
                clip -> optimize
                ema every {accumulation} steps
                evaluate every {every * accumulation} steps
                save every {every * accumulation * 2} steps and at end
                losses every 10 updates on main
                speed every 50 updates on main
                timer
            }}
        }}
        after {{
            timer
            evaluate every epoch
        }}
    }}
    after {{ save }}
}}

order evaluate before save
order ema before evaluate
'''


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=200)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--jobs", help="passed to `hookpipe lint --jobs` (default: the lint's own choice)")
    p.add_argument("--budget", type=float, default=1.0, help="seconds the median may take")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "pipes")
        folder.mkdir()
        for i in range(args.files):
            (folder / f"train_{i:03d}.pipe").write_text(pipeline(i), encoding="utf-8")
        lines = sum(len(pipeline(i).splitlines()) for i in range(args.files))
        times, cpu = [], []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            jobs = ["--jobs", args.jobs] if args.jobs else []
            proc = subprocess.run([sys.executable, "-c", _PROBE, "lint", "--format", "json", *jobs, str(folder)],
                                  capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if proc.returncode not in (0, 1) or "HEAVY []" not in proc.stderr:
                print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n")
                print(f"lint failed (exit {proc.returncode}) or imported a heavy module")
                return 2
    median = statistics.median(times)
    print(f"lint of {args.files} files ({lines} lines): median {median:.3f} s, best {min(times):.3f} s "
          f"over {args.runs} runs (whole process, workers included); CPU time median "
          f"{statistics.median(cpu):.3f} s; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          "torch never imported")
    return 0 if median <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
