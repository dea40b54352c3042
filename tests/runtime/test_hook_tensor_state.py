"""Hook state with tensors: checkpointed with safetensors, restored bit for bit on resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hookpipe.compiler import compile_text
from hookpipe.runtime import HookBasedTrainer, PlanResolveError
from hookpipe.runtime.checkpoints.hook_state import join_tensors, split_tensors
from hookpipe.runtime.checkpoints.resume import ResumeCheckpointConfig
from tests.helpers import launch_two

PIPE = """use h = "tests.runtime.hooklib"
use s = "tests.runtime.runlib"
trainer {
    max_step          = 12
    grad_accumulation = 2
    seed              = 0
    model             = h.tiny_model(dropout = 0.2)
    dataloader        = h.tiny_loader(n = 16, batch_size = 2, shuffle = true)
    optimizer         = "torch.optim.SGD"(lr = 0.05)
    batch_processor   = h.MSE()
}
hook optimize = optimizer()
hook average  = s.ParamAverage(decay = 0.9, PER_RANK)
hook save     = checkpoint(dir = "DIR")
loop {
    epoch { step { after {
        optimize -> average
        save every 5 steps
    } } }
    after { average }
}
"""


def text(tmp_path: Path, per_rank: bool = False) -> str:
    return PIPE.replace("DIR", str(tmp_path / "ckpt")).replace("PER_RANK", f"per_rank = {str(per_rank).lower()}")


def test_split_and_join_round_trip_every_dtype_bitwise() -> None:
    state = {"n": 3, "nested": {"w": torch.randn(3, 2).to(torch.bfloat16), "ids": [torch.arange(4), 1.5]},
             "flag": torch.tensor(True), "scalar": torch.tensor(0.1, dtype=torch.float64)}
    tensors: dict[str, torch.Tensor] = {}
    skeleton = split_tensors(state, "h", tensors)
    json.dumps(skeleton)  # the structure alone is JSON
    assert sorted(tensors) == ["h.flag", "h.nested.ids.0", "h.nested.w", "h.scalar"]
    back = join_tensors(json.loads(json.dumps(skeleton)), tensors)
    assert back["n"] == 3 and back["nested"]["ids"][1] == 1.5
    for got, want in ((back["nested"]["w"], state["nested"]["w"]), (back["scalar"], state["scalar"])):
        assert got.dtype == want.dtype and torch.equal(got.view(torch.uint8) if got.dim() else got, want.view(torch.uint8) if want.dim() else want)


def test_state_that_is_neither_json_nor_tensors_is_refused_by_path() -> None:
    with pytest.raises(PlanResolveError, match=r"hook state ema\.opts\.1: object cannot be checkpointed"):
        split_tensors({"opts": [1, object()]}, "ema", {})


def test_the_checkpoint_holds_json_structure_and_a_safetensors_file(tmp_path: Path) -> None:
    HookBasedTrainer.from_plan(compile_text(text(tmp_path), "avg.pipe"))()
    folder = tmp_path / "ckpt" / "step-00000010"
    state = json.loads((folder / "hookpipe-state-0.json").read_text())
    assert state["hooks"]["average"]["updates"] == 10
    assert state["hooks"]["average"]["shadow"]["0.weight"] == {"$tensor": "average.shadow.0.weight"}
    assert state["hook_tensors"] == "hookpipe-hooks.safetensors"
    assert "average.shadow.0.weight" in load_file(str(folder / "hookpipe-hooks.safetensors"))


@pytest.mark.parametrize("at", [5, 10])  # 5: inside an accumulation window; 10: on an update
def test_resume_restores_tensor_state_bitwise(tmp_path: Path, at: int) -> None:
    full = HookBasedTrainer.from_plan(compile_text(text(tmp_path / "full"), "avg.pipe"))
    full()
    folder = tmp_path / "full" / "ckpt" / f"step-{at:08d}"
    resumed = HookBasedTrainer.from_plan(compile_text(text(tmp_path / "resumed"), "avg.pipe"),
                                         resume_from=ResumeCheckpointConfig(resume_from=str(folder)))
    assert resumed.hook_instances["average"].updates == at
    resumed()
    a, b = full.hook_instances["average"], resumed.hook_instances["average"]
    assert a.updates == b.updates == 12
    for name in a.shadow:
        assert torch.equal(a.shadow[name], b.shadow[name]), name
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)


@pytest.mark.slow
@pytest.mark.parametrize("per_rank", [False, True])
def test_two_processes_store_tensors_once_or_per_rank_and_resume_bitwise(tmp_path: Path, per_rank: bool) -> None:
    path = tmp_path / "avg.pipe"
    path.write_text(text(tmp_path, per_rank), encoding="utf-8")
    done = launch_two("hookpipe.runtime.run", str(path), env={"HOOKPIPE_TEST_SHADOW": str(tmp_path / "full")},
                      timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = tmp_path / "ckpt" / "step-00000005"
    files = sorted(p.name for p in folder.glob("hookpipe-hooks*.safetensors"))
    assert files == (["hookpipe-hooks-1.safetensors", "hookpipe-hooks.safetensors"] if per_rank
                     else ["hookpipe-hooks.safetensors"])
    done = launch_two("hookpipe.runtime.run", str(path), "--resume", str(folder),
                      "--set", f"hook.save.dir={tmp_path / 'again'}",
                      env={"HOOKPIPE_TEST_SHADOW": str(tmp_path / "resumed")}, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in (0, 1):
        full, resumed = load_file(f"{tmp_path / 'full'}.{rank}"), load_file(f"{tmp_path / 'resumed'}.{rank}")
        assert full.keys() == resumed.keys()
        assert all(torch.equal(full[k], resumed[k]) for k in full)
    if per_rank:  # the ranks' states differ, and each got its own back
        rank0, rank1 = load_file(f"{tmp_path / 'full'}.0"), load_file(f"{tmp_path / 'full'}.1")
        assert not any(torch.equal(rank0[k], rank1[k]) for k in rank0)
