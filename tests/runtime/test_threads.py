"""Threads per process: the cores shared among the processes on the machine, or ``trainer.threads``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer
from hookpipe.runtime.distributed.threads import thread_count
from hookpipe.runtime.run import run_file

LAUNCHED = {"LOCAL_WORLD_SIZE": "2", "TORCHELASTIC_RUN_ID": "x", "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize(
    ("threads", "local", "env", "cores", "expected"),
    [
        (None, 1, {}, 16, 16),            # one process: every core
        (None, 2, LAUNCHED, 16, 8),       # the launcher's OMP_NUM_THREADS=1 is not the user's choice
        (None, 2, LAUNCHED, 2, 1),        # the 2-core machine: one thread each
        (None, 3, {}, 2, 1),              # never fewer than one
        (None, 1, {"OMP_NUM_THREADS": "3"}, 16, 3),  # a plain run: the user's OMP_NUM_THREADS
        (4, 2, LAUNCHED, 16, 4),          # trainer.threads wins over everything
        (5, 1, {"OMP_NUM_THREADS": "3"}, 16, 5),
    ],
)
def test_thread_count(threads: int | None, local: int, env: dict[str, str], cores: int, expected: int) -> None:
    assert thread_count(threads, local, env, cores) == expected


PIPE = """use h = "tests.runtime.hooklib"
trainer {
    max_step        = 2
    THREADS
    model           = h.tiny_model()
    dataloader      = h.tiny_loader()
    optimizer       = "torch.optim.SGD"(lr = 0.01)
    batch_processor = h.MSE()
}
hook optimize = optimizer()
loop { epoch { step { after { optimize } } } }
"""


def test_trainer_threads_sets_torch_s_thread_count() -> None:
    torch.set_num_threads(2)
    HookBasedTrainer.from_plan(compile_text(PIPE.replace("THREADS", "threads = 1"), "t.pipe"))
    assert torch.get_num_threads() == 1


def test_from_plan_leaves_a_caller_s_thread_count_alone() -> None:
    torch.set_num_threads(1)
    HookBasedTrainer.from_plan(compile_text(PIPE.replace("THREADS", ""), "t.pipe"))
    assert torch.get_num_threads() == 1


def test_hookpipe_run_takes_the_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    path = tmp_path / "t.pipe"
    path.write_text(PIPE.replace("THREADS", "threads = 2"), encoding="utf-8")
    torch.set_num_threads(1)
    assert run_file(str(path), ["trainer.threads=1"], None) == 0
    assert torch.get_num_threads() == 1
    assert run_file(str(path), [], None) == 0
    assert torch.get_num_threads() == 2


def test_threads_must_be_positive() -> None:
    from hookpipe.errors import CompileError

    with pytest.raises(CompileError, match="HP003 error: invalid `threads` of the trainer"):
        compile_text(PIPE.replace("THREADS", "threads = 0"), "t.pipe")
