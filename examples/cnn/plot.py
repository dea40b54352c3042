"""Plot the curves ``train.pipe`` logged (``runs/cnn/logs/metrics.csv``) into a PNG.

``python -m examples.cnn.plot [CSV] [PNG]`` needs matplotlib (``pip install
matplotlib``), which hookpipe itself does not depend on. The CSV has one row per
``log()`` firing: every 20 steps (training loss, learning rate) and after each
epoch (also the validation metrics of the EMA weights).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def series(rows: list[dict[str, str]], key: str) -> tuple[list[int], list[float]]:
    pairs = [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]
    return [s for s, _ in pairs], [v for _, v in pairs]


def main(argv: list[str]) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    source = Path(argv[0]) if argv else Path("runs/cnn/logs/metrics.csv")
    target = Path(argv[1]) if len(argv) > 1 else Path("examples/cnn/curves.png")
    rows = read(source)
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(12, 3.4), constrained_layout=True)
    left.plot(*series(rows, "loss"), label="training (mean since last record)")
    left.plot(*series(rows, "evaluate/loss"), marker="o", markersize=3, label="held-out, EMA weights")
    left.set(title="cross-entropy", xlabel="completed steps", yscale="log")
    left.legend()
    middle.plot(*series(rows, "evaluate/accuracy"), marker="o", markersize=3, color="C1")
    middle.set(title="held-out accuracy (EMA weights)", xlabel="completed steps", ylim=(0.85, 1.0))
    right.plot(*series(rows, "lr/0"), color="C2")
    right.set(title="learning rate (warmup-cosine)", xlabel="completed steps")
    for ax in (left, middle, right):
        ax.grid(alpha=0.3)
    fig.savefig(target, dpi=110)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
