"""Virtual environments for the peer trainers the runtime benchmark compares against.

Each peer lives in its own venv under ``benchmarks/.venvs/`` (gitignored), so its
dependencies (RoboOrchard Lab pins its own stack) never touch hookpipe's. The
recipes work offline on a machine whose pip finds ``torch==2.13.0`` locally: torch
first, then the peer with a constraints file that keeps torch (and torchvision)
at the pinned versions, so pip never pulls a different, multi-gigabyte torch.

Run: python -m benchmarks.peers   (installs what is missing; prints the status)
"""

from __future__ import annotations

import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PEERS", "Peer", "ensure", "python_of"]

VENVS = Path(__file__).resolve().parent / ".venvs"
TORCH = "torch==2.13.0"
CONSTRAINTS = "torch==2.13.0\ntorchvision==0.28.0\n"


@dataclass(frozen=True)
class Peer:
    """A peer trainer: its venv name, pip steps (each constrained) and cleanup."""

    name: str
    label: str
    steps: tuple[tuple[str, ...], ...]
    uninstall: tuple[str, ...] = ()
    check: str = ""  # a module the worker imports; its import proves the install


PEERS: dict[str, Peer] = {
    "robo_orchard_lab": Peer(
        name="robo_orchard_lab",
        label="RoboOrchard Lab 0.4.0",
        steps=(("robo-orchard-lab==0.4.0",), ("transformers<=4.57.1", "datasets>=4.0.0")),
        # The trainer never uses torchvision; dropping it keeps the venv honest
        # about what the benchmark imports.
        uninstall=("torchvision",),
        check="robo_orchard_lab.pipeline.hook_based_trainer",
    ),
    "ignite": Peer(
        name="ignite",
        label="PyTorch Ignite 0.5.5",
        steps=(("pytorch-ignite==0.5.5",),),
        check="ignite.engine",
    ),
}


def python_of(peer: Peer) -> Path:
    return VENVS / peer.name / "bin" / "python"


def _works(peer: Peer) -> bool:
    py = python_of(peer)
    if not py.exists():
        return False
    done = subprocess.run([str(py), "-c", f"import {peer.check}"], capture_output=True)
    return done.returncode == 0


def ensure(peer: Peer, log: Path | None = None) -> tuple[bool, str]:
    """Install ``peer`` unless its venv already works; returns (ok, why not)."""
    if _works(peer):
        return True, ""
    root = VENVS / peer.name
    VENVS.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    constraints = VENVS / "constraints.txt"
    constraints.write_text(CONSTRAINTS, encoding="utf-8")
    pip = [str(python_of(peer)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    log = log or VENVS / f"{peer.name}.log"
    with open(log, "w", encoding="utf-8") as out:
        commands = [pip + [TORCH]] + [pip + ["-c", str(constraints), *step] for step in peer.steps]
        if peer.uninstall:
            commands.append([str(python_of(peer)), "-m", "pip", "uninstall", "--yes", "--quiet", *peer.uninstall])
        for command in commands:
            out.write("$ " + " ".join(command) + "\n")
            out.flush()
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
            if done.returncode != 0:
                return False, f"`{' '.join(command[3:])}` failed (exit {done.returncode}; see {log.name})"
    if not _works(peer):
        return False, f"installed, but `import {peer.check}` fails (see {log.name})"
    return True, ""


def main() -> int:
    failed = 0
    for peer in PEERS.values():
        ok, why = ensure(peer)
        print(f"{peer.label}: {'ok' if ok else 'not installed: ' + why}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
