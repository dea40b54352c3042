"""The ``trainer { ... }`` block's schema: run settings and factories."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ObjectRef = str | dict[str, Any]


class TrainerSettings(BaseModel):
    """Run settings. Factories are optional for check/lint; ``run`` requires them."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_step: int | None = Field(default=None, ge=1)
    max_epoch: int | None = Field(default=None, ge=1)
    grad_accumulation: int = Field(default=1, ge=1)
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    seed: int | None = Field(default=None, ge=0)
    cpu: bool = False
    model: ObjectRef | None = None
    dataloader: ObjectRef | None = None
    optimizer: ObjectRef | None = None
    lr_scheduler: ObjectRef | None = None
    batch_processor: ObjectRef | None = None


#: Keys that name factories resolved (imported) only by ``run``/``check --resolve``.
FACTORY_KEYS: tuple[str, ...] = ("model", "dataloader", "optimizer", "lr_scheduler", "batch_processor")
