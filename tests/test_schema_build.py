"""hookpipe's own schemas build without pydantic's self-check and plugins; nothing else changes."""

from __future__ import annotations

import os

import pydantic._internal._core_utils as core_utils
import pytest
from pydantic import BaseModel, ConfigDict
from pydantic_core import validate_core_schema

from hookpipe.compiler.catalog import BUILTINS, SEED_HOOK_TYPES
from hookpipe.compiler.schema_build import built
from hookpipe.compiler.settings import TrainerSettings

SCHEMAS = {h.name: h.schema for h in (*BUILTINS.values(), *SEED_HOOK_TYPES)} | {"trainer": TrainerSettings}
SWITCHES = ("PYDANTIC_SKIP_VALIDATING_CORE_SCHEMAS", "PYDANTIC_DISABLE_PLUGINS")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_schema_passes_the_check_its_build_skips(name: str) -> None:
    schema = built(SCHEMAS[name])
    assert schema.__pydantic_complete__
    validate_core_schema(schema.__pydantic_core_schema__)  # raises on an invalid core schema


def _unbuilt(base: type[BaseModel]) -> type[BaseModel]:
    return type(f"Probe{base.__name__}", (base,), {"model_config": ConfigDict(defer_build=True),
                                                    "__module__": __name__})


def test_the_build_skips_the_core_schema_check_for_hookpipe_schemas_only(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[object] = []
    real = core_utils._validate_core_schema

    def counting(schema: object, *rest: object) -> object:
        checked.append(schema)
        return real(schema, *rest)

    monkeypatch.setattr(core_utils, "_validate_core_schema", counting)
    probe = built(_unbuilt(BUILTINS["grad_clip"].schema))
    assert probe.model_validate({"max_norm": 1.0}).model_dump()["mode"] == "norm"
    assert checked == []

    class UserModel(BaseModel):  # a user's model, built the ordinary way
        x: int = 1

    assert UserModel().x == 1
    assert len(checked) == 1


@pytest.mark.parametrize("before", [None, "some_plugin"])
def test_the_switches_are_restored_after_a_build(before: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SWITCHES:
        if before is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, before)
    built(_unbuilt(BUILTINS["ema"].schema))
    assert [os.environ.get(name) for name in SWITCHES] == [before, before]


def test_a_failing_argument_still_reports_through_the_built_schema() -> None:
    with pytest.raises(ValueError, match="mode 'norm' needs max_norm"):
        built(BUILTINS["grad_clip"].schema).model_validate({"mode": "norm"})
