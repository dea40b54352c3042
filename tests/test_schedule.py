"""Frequency semantics of SPEC section 4, from the Plan's guards alone."""

from __future__ import annotations

from hookpipe.compiler import compile_text
from hookpipe.compiler.plan import Guard
from hookpipe.compiler.schedule import simulate


def fired(modifiers: str, steps: int, per_epoch: int, accumulation: int = 1, phase: str = "step") -> list[int | None]:
    text = (f"trainer {{\n    max_step = {steps}\n    grad_accumulation = {accumulation}\n}}\n"
            'hook h = loss_log()\nhook e = validation(callback = "m.f")\n')
    if phase == "step":
        text += f"loop {{ epoch {{ step {{ after {{ h {modifiers} }} }} }} }}\n"
        return [f.step for f in simulate(compile_text(text), steps, per_epoch)]
    text += f"loop {{ epoch {{ after {{ e {modifiers} }} }} }}\n"
    return [f.epoch for f in simulate(compile_text(text), steps, per_epoch)]


def test_every_n_steps_counts_global_step_ids() -> None:
    assert fired("every 3 steps", 10, 4) == [2, 5, 8]


def test_no_frequency_fires_every_step() -> None:
    assert fired("", 5, 2) == [0, 1, 2, 3, 4]


def test_from_offsets_the_first_firing() -> None:
    assert fired("every 3 steps from 2", 10, 100) == [1, 4, 7]
    assert fired("every step from 8", 10, 100) == [7, 8, 9]


def test_and_at_end_adds_the_last_step_once() -> None:
    assert fired("every 4 steps and at end", 10, 100) == [3, 7, 9]
    assert fired("every 5 steps and at end", 10, 100) == [4, 9]


def test_updates_follow_accumulation_and_epoch_ends() -> None:
    # 5 batches per epoch, accumulation 2: syncs at local 1, 3, 4 -> global 1, 3, 4, 6, 8, 9
    assert fired("every update", 10, 5, accumulation=2) == [1, 3, 4, 6, 8, 9]
    assert fired("every 2 updates", 10, 5, accumulation=2) == [3, 6, 9]
    assert fired("every 4 updates and at end", 10, 5, accumulation=2) == [6, 9]


def test_epoch_frequencies() -> None:
    assert fired("every 2 epochs", 10, 2, phase="epoch") == [1, 3]
    assert fired("every 2 epochs and at end", 10, 2, phase="epoch") == [1, 3, 4]
    assert fired("every epoch from 3", 10, 2, phase="epoch") == [2, 3, 4]


def test_on_main_hooks_only_fire_on_the_main_process() -> None:
    text = ("trainer {\n    max_step = 4\n}\nhook h = loss_log()\nhook s = throughput()\n"
            "loop { epoch { step { after {\n    h on main\n    s\n} } } }\n")
    plan = compile_text(text)
    assert [f.hook for f in simulate(plan, 2, 2)] == ["h", "s", "h", "s"]
    assert [f.hook for f in simulate(plan, 2, 2, main=False)] == ["s", "s"]


def test_phase_order_within_a_step() -> None:
    text = ("trainer {\n    max_step = 1\n}\nuse m = \"pkg\"\n" + "".join(f"hook {n} = m.Probe()\n" for n in "abcdefgh") +
            "loop { epoch { step {\n before { a }\n batch {\n before { b }\n forward {\n before { c }\n after { d }\n}\n"
            " backward {\n before { e }\n after { f }\n}\n after { g }\n}\n after { h }\n} } }\n")
    assert [f.hook for f in simulate(compile_text(text), 1, 1)] == list("abcdefgh")


def test_guard_fires_is_the_spec_formula() -> None:
    g = Guard(unit="step", every=200, start=200)
    assert [c for c in range(1, 1001) if g.fires(c)] == [200, 400, 600, 800, 1000]
    g = Guard(unit="step", every=100, start=50, at_end=True)
    assert [c for c in range(1, 301) if g.fires(c, is_last=c == 300)] == [50, 150, 250, 300]


UPDATE_ONLY = ("trainer {\n    max_step = 6\n    grad_accumulation = 2\n}\n"
               "hook clip = grad_clip(max_norm = 1.0)\nhook optimize = optimizer()\nhook average = ema(decay = 0.99)\n"
               "hook losses = loss_log()\nhook updates = loss_log()\n"
               "loop { epoch { step { after { clip -> optimize -> average -> losses\n updates every update } } } }\n")


def test_update_only_hooks_act_on_update_steps_only() -> None:
    """Accumulation 2, 3 batches per epoch: updates end local batches 1 and 2, i.e. global steps 1, 2, 4, 5."""
    plan = compile_text(UPDATE_ONLY)
    acting = simulate(plan, 6, 3, acting=True)
    update_steps = [f.step for f in acting if f.hook == "updates"]
    assert update_steps == [1, 2, 4, 5]
    for hook in ("clip", "optimize", "average"):
        assert [f.step for f in acting if f.hook == hook] == update_steps, hook
    assert [f.step for f in acting if f.hook == "losses"] == [0, 1, 2, 3, 4, 5]
    # The callbacks themselves run on every step (what the runtime's trace records).
    assert [f.step for f in simulate(plan, 6, 3) if f.hook == "clip"] == [0, 1, 2, 3, 4, 5]
    # Without accumulation every step is an update step: nothing is left out.
    plain = compile_text(UPDATE_ONLY.replace("grad_accumulation = 2", "grad_accumulation = 1"))
    assert simulate(plain, 6, 3, acting=True) == simulate(plain, 6, 3)
