"""Plan execution: exact order per phase, guards, main-only entries, failures."""

from __future__ import annotations

import itertools

import pytest
import torch
from accelerate import Accelerator

from hookpipe.compiler.plan import Guard, Plan, callback_name, phase_order
from hookpipe.compiler.schedule import simulate
from hookpipe.runtime import HookBasedTrainer, HookFailure, PlanResolveError, ScopeFailure
from hookpipe.runtime.plan.overrides import apply_overrides, parse_override_value
from hookpipe.runtime.plan.plan_hooks import build_plan_hooks
from hookpipe.runtime.plan.resolve import import_path
from tests.runtime import hooklib
from tests.runtime.planbuild import entry, hook, plan, tiny_trainer

REC = "tests.runtime.hooklib:Recorder"


def trainer_block(**extra) -> dict:
    return tiny_trainer(n=10, cpu=True, **extra)


def run(p: Plan, **overrides) -> HookBasedTrainer:
    hooklib.LOG.clear()
    trainer = HookBasedTrainer.from_plan(p, **overrides)
    trainer()
    return trainer


# -- what `hookpipe explain --steps` must agree with ------------------------------


def predict(p: Plan, *, per_epoch: int, max_step: int | None, max_epoch: int | None, accumulation: int, is_main: bool = True):
    """The (tag, callback, id) firings a Plan's guards predict, without running anything.

    Semantics: step count c = global_step_id + 1; a step synchronises gradients when
    (i + 1) % accumulation == 0 for its 0-based index i in the epoch, or it is the
    epoch's last batch; the update count is the number of synchronising steps so far,
    this one included, and update guards only fire on synchronising steps; epoch
    count = epoch_id + 1; batch count = i + 1 (the epoch's batches); `at end` fires
    on the run's last step (step and update units, whether or not it synchronises),
    the epoch's last batch (batch unit) or the last epoch. Step-level phases report
    the global step id, epoch-level phases the epoch id.
    """
    steps: list[tuple[int, int, bool]] = []  # (global id, epoch, synchronises)
    batches: dict[int, tuple[int, bool]] = {}  # global id -> (batch count in its epoch, the epoch's last batch)
    g, e = 0, 0
    while (max_step is None or g < max_step) and (max_epoch is None or e < max_epoch):
        for i in range(per_epoch):
            steps.append((g, e, (i + 1) % accumulation == 0 or i == per_epoch - 1))
            batches[g] = (i + 1, i == per_epoch - 1)
            g += 1
            if max_step is not None and g >= max_step:
                break
        e += 1
    last_epoch = steps[-1][1]
    total_updates = sum(sync for _, _, sync in steps)
    out = []
    for ph in p.phases:
        for en in ph.entries:
            if en.main_only and not is_main:
                continue
            tag = p.hook(en.hook).args["tag"]
            if ph.scope in ("loop",):
                out.append((tag, en.callback, None))
            elif ph.scope == "epoch":
                for ep in range(last_epoch + 1):
                    if en.guard.fires(ep + 1, is_last=ep == last_epoch):
                        out.append((tag, en.callback, ep))
            else:
                updates = 0
                for gid, _, sync in steps:
                    updates += sync
                    is_last = gid == steps[-1][0]
                    if en.guard.unit == "update":
                        fired = sync and en.guard.fires(updates, is_last=updates == total_updates)
                    elif en.guard.unit == "batch":
                        fired = en.guard.fires(batches[gid][0], is_last=batches[gid][1])
                    else:
                        fired = en.guard.fires(gid + 1, is_last=is_last)
                    if fired:
                        out.append((tag, en.callback, gid))
    return out


def scheduled(p: Plan, *, steps: int, per_epoch: int) -> list[tuple[str, str, int | None]]:
    """The compiler's reference (`hookpipe explain --steps`), in the same shape."""
    out = []
    for f in simulate(p, steps, per_epoch):
        tag = p.hook(f.hook).args["tag"]
        ident = None if f.scope == "loop" else f.epoch if f.scope == "epoch" else f.step
        out.append((tag, callback_name(f.scope, f.phase), ident))
    return out


def observed(p: Plan) -> list[tuple[str, str, int | None]]:
    scope_of = {callback_name(s, ph): s for s, ph in phase_order()}
    out = []
    for tag, callback, gid, epoch in hooklib.LOG:
        scope = scope_of[callback]
        out.append((tag, callback, None if scope == "loop" else epoch if scope == "epoch" else gid))
    return out


def test_every_frequency_form_fires_exactly_where_the_guards_predict() -> None:
    hooks, entries = [], []

    def attach(tag: str, scope: str, phase: str, **kw) -> None:
        hooks.append(hook(tag, REC, {"tag": tag}))
        entries.append(entry(tag, scope, phase, **kw))

    attach("s3", "step", "after", unit="step", every=3)
    attach("u2", "step", "after", unit="update", every=2)
    attach("from4", "step", "after", unit="step", every=3, start=4)
    attach("s4end", "step", "after", unit="step", every=4, at_end=True)
    attach("u4end", "step", "after", unit="update", every=4, at_end=True)
    attach("u1from2", "step", "after", unit="update", every=1, start=2)
    attach("main", "step", "after", main=True)
    attach("sb5", "step", "before", unit="step", every=5)
    attach("bu2", "batch", "after", unit="update", every=2)
    attach("fwd7", "forward", "before", unit="step", every=7)
    attach("e2end", "epoch", "after", unit="epoch", every=2, at_end=True)
    attach("e1from2", "epoch", "before", unit="epoch", every=1, start=2)
    attach("loop", "loop", "after")
    attach("s2until6", "step", "after", unit="step", every=2, until=6)
    attach("u1until2end", "step", "after", unit="update", every=1, until=2, at_end=True)
    attach("e1until2", "epoch", "after", unit="epoch", every=1, until=2)
    p = plan(trainer_block(max_epoch=3, grad_accumulation=2), hooks, entries)
    run(p)
    got = observed(p)
    want = predict(p, per_epoch=5, max_step=None, max_epoch=3, accumulation=2)
    for tag in [h.name for h in hooks]:
        assert [x for x in got if x[0] == tag] == [x for x in want if x[0] == tag], tag
    assert sorted(got, key=repr) == sorted(want, key=repr)
    assert sorted(got, key=repr) == sorted(scheduled(p, steps=15, per_epoch=5), key=repr)
    # Spot checks of the semantics themselves (5 batches per epoch, accumulation 2:
    # updates at global ids 1, 3, 4 | 6, 8, 9 | 11, 13, 14).
    assert [g for t, _, g in got if t == "u2"] == [3, 6, 9, 13]
    assert [g for t, _, g in got if t == "s4end"] == [3, 7, 11, 14]
    assert [g for t, _, g in got if t == "from4"] == [3, 6, 9, 12]
    assert [e for t, _, e in got if t == "e2end"] == [1, 2]
    # `until` stops firing after its last occurrence (`and at end` still fires at the end)
    assert [g for t, _, g in got if t == "s2until6"] == [1, 3, 5]
    assert [g for t, _, g in got if t == "u1until2end"] == [1, 3, 14]
    assert [e for t, _, e in got if t == "e1until2"] == [0, 1]


@pytest.mark.parametrize("reference", [False, True], ids=["generated", "reference"])
def test_batch_frequencies_count_each_epochs_batches(monkeypatch: pytest.MonkeyPatch, reference: bool) -> None:
    """`every N batches` in a step's phases counts the epoch's batches (step_id + 1), from 1 again each epoch."""
    if reference:
        monkeypatch.setenv("HOOKPIPE_REFERENCE_STEP", "1")
    hooks, entries = [], []

    def attach(tag: str, scope: str, phase: str, **kw) -> None:
        hooks.append(hook(tag, REC, {"tag": tag}))
        entries.append(entry(tag, scope, phase, **kw))

    attach("b2", "step", "after", unit="batch", every=2)
    attach("b3end", "step", "after", unit="batch", every=3, at_end=True)
    attach("b1from4", "batch", "before", unit="batch", every=1, start=4)
    attach("b2until3", "forward", "after", unit="batch", every=2, until=3)
    p = plan(trainer_block(max_epoch=3, grad_accumulation=2), hooks, entries)
    run(p)
    got = observed(p)
    want = predict(p, per_epoch=5, max_step=None, max_epoch=3, accumulation=2)
    assert sorted(got, key=repr) == sorted(want, key=repr)
    assert sorted(got, key=repr) == sorted(scheduled(p, steps=15, per_epoch=5), key=repr)
    # 5 batches an epoch: global ids 0-4 | 5-9 | 10-14.
    assert [g for t, _, g in got if t == "b2"] == [1, 3, 6, 8, 11, 13]
    assert [g for t, _, g in got if t == "b3end"] == [2, 4, 7, 9, 12, 14]
    assert [g for t, _, g in got if t == "b1from4"] == [3, 4, 8, 9, 13, 14]
    assert [g for t, _, g in got if t == "b2until3"] == [1, 6, 11]


def test_max_step_end_and_step_limits_agree_with_the_prediction() -> None:
    hooks = [hook(t, REC, {"tag": t}) for t in ("a", "b", "c")]
    entries = [
        entry("a", "step", "after", unit="step", every=4, at_end=True),
        entry("b", "epoch", "after", unit="epoch", every=5, at_end=True),
        entry("c", "step", "after", unit="update", every=3, start=1),
    ]
    p = plan(trainer_block(max_step=7, grad_accumulation=1), hooks, entries)
    run(p)
    got, want = observed(p), predict(p, per_epoch=5, max_step=7, max_epoch=None, accumulation=1)
    assert sorted(got, key=repr) == sorted(want, key=repr)
    assert sorted(got, key=repr) == sorted(scheduled(p, steps=7, per_epoch=5), key=repr)
    assert [g for t, _, g in observed(p) if t == "a"] == [3, 6]


def test_callbacks_run_in_the_plans_order_in_every_phase() -> None:
    tags = ("a", "b", "c")
    orders = list(itertools.permutations(tags))
    hooks = [hook(t, REC, {"tag": t}) for t in tags]
    entries = []
    expected: dict[str, tuple[str, ...]] = {}
    for i, (scope, phase) in enumerate(phase_order()):
        order = orders[i % len(orders)]
        expected[callback_name(scope, phase)] = order
        entries += [entry(t, scope, phase) for t in order]
    p = plan(trainer_block(max_step=3), hooks, entries)
    run(p)
    # Consecutive records of one callback are one run of a phase: compare each run.
    runs = [(cb, [t for t, *_ in grp]) for cb, grp in itertools.groupby(hooklib.LOG, key=lambda r: r[1])]
    assert {cb for cb, _ in runs} == set(expected)
    for cb, order in runs:
        assert tuple(order) == expected[cb], cb
    assert [cb for cb, _ in runs[:6]] == [callback_name(s, p) for s, p in phase_order()[:6]]


def test_main_only_entries_are_dropped_on_other_ranks() -> None:
    p = plan(
        trainer_block(max_step=1),
        [hook("a", REC, {"tag": "a"}), hook("m", REC, {"tag": "m"})],
        [entry("a", "step", "after"), entry("m", "step", "after", main=True)],
    )
    main = build_plan_hooks(p, is_main=True)
    other = build_plan_hooks(p, is_main=False)
    assert [c.hook for c in main.hooks["on_step"].afters] == ["a", "m"]
    assert [c.hook for c in other.hooks["on_step"].afters] == ["a"]


def test_guard_compilation_matches_guard_fires() -> None:
    p = plan(trainer_block(max_step=1), [hook("a", REC, {"tag": "a"})], [entry("a", "step", "after", unit="step", every=3, start=5, at_end=True)])
    call = build_plan_hooks(p, is_main=True).hooks["on_step"].afters[0]
    counters = build_plan_hooks(p, is_main=True).counters
    guard = Guard("step", 3, 5, True)
    for count in range(1, 30):
        for last in (False, True):
            counters.step, counters.last_step = count, last
            assert call.fires(counters) == guard.fires(count, is_last=last)


def test_a_failing_batch_names_the_scope_step_and_file_and_skips_after_hooks() -> None:
    p = plan(
        trainer_block(max_step=5, batch_processor={"$call": "tests.runtime.hooklib:MSE", "args": {"fail_at": 2}}),
        [
            hook("optimize", "optimizer", {}, builtin=True, line=3),
            hook("after", REC, {"tag": "after"}, line=4),
            hook("cleanup", "tests.runtime.hooklib:Cleanup", {"tag": "cleanup"}, line=5),
        ],
        [
            entry("optimize", "step", "after", line=10),
            entry("after", "step", "after", line=11),
            entry("cleanup", "step", "after", line=12),
            entry("cleanup", "batch", "after", line=13),
        ],
    )
    hooklib.LOG.clear()
    trainer = HookBasedTrainer.from_plan(p)
    with pytest.raises(ScopeFailure) as info:
        trainer()
    err = info.value
    # The model's forward raised: the innermost scope is `forward`; the first
    # ordinary after-callback it cost is the optimizer step (line 10).
    assert (err.scope, err.global_step, err.path, err.line) == ("forward", 2, "test.pipe", 10)
    assert [name for name, _ in err.skipped] == ["optimize.on_step_end", "after.on_step_end"]
    text = str(err)
    assert text.startswith("scope 'forward' failed in step 3 (test.pipe:10): ValueError: bad batch")
    assert "not run: optimize.on_step_end (test.pipe:10), after.on_step_end (test.pipe:11)" in text
    assert isinstance(err.__cause__, ValueError)
    ran = [(t, cb, g) for t, cb, g, _ in hooklib.LOG]
    assert ("after", "on_step_end", 1) in ran and ("after", "on_step_end", 2) not in ran
    assert ("cleanup", "on_batch_end", 2) in ran and ("cleanup", "on_step_end", 2) in ran
    assert trainer.trainer_progress_state.update_count == 3  # counted, but the step never ran


def test_a_failing_hook_names_the_hook_and_its_attachment() -> None:
    p = plan(
        trainer_block(max_step=5),
        [hook("boom", "tests.runtime.hooklib:Boom", {"at": 3}, line=2), hook("optimize", "optimizer", {}, builtin=True)],
        [entry("boom", "step", "after", line=21), entry("optimize", "step", "after", line=22)],
    )
    trainer = HookBasedTrainer.from_plan(p)
    with pytest.raises(HookFailure) as info:
        trainer()
    err = info.value
    assert (err.hook, err.callback, err.global_step, err.path, err.line) == ("boom", "on_step_end", 3, "test.pipe", 21)
    assert str(err).startswith("hook 'boom' failed in on_step_end in step 4 (test.pipe:21): RuntimeError: boom")


def test_robo_orchard_style_hooks_run_at_their_channels() -> None:
    p = plan(
        trainer_block(max_step=3),
        [
            hook("cfg", "tests.runtime.hooklib:SeedStyleHooksConfig", {"tag": "cfg"}),
            hook("cls", "tests.runtime.hooklib:SeedStyleHooks", {"tag": "cls"}),
        ],
        [
            entry("cfg", "step", "before"),
            entry("cfg", "step", "after"),
            entry("cls", "step", "after", unit="step", every=2),
        ],
    )
    run(p)
    assert [(t, cb, g) for t, cb, g, _ in hooklib.LOG] == [
        ("cfg", "on_step_begin", 0),
        ("cfg", "on_step_end", 0),
        ("cfg", "on_step_begin", 1),
        ("cfg", "on_step_end", 1),
        ("cls", "on_step_end", 1),
        ("cfg", "on_step_begin", 2),
        ("cfg", "on_step_end", 2),
    ]


def test_overrides_change_plan_data_before_resolution() -> None:
    p = plan(
        trainer_block(max_step=3),
        [hook("clip", "grad_clip", {"mode": "norm", "max_norm": 1.0}, builtin=True)],
        [entry("clip", "step", "after")],
    )
    q = apply_overrides(p, {"trainer.max_step": "2", "hook.clip.max_norm": "0.5", "trainer.dataloader.args.n": "4"})
    assert q.trainer["max_step"] == 2 and q.hook("clip").args["max_norm"] == 0.5
    assert q.trainer["dataloader"]["args"]["n"] == 4 and p.trainer["max_step"] == 3
    assert q.content_hash != p.content_hash
    trainer = HookBasedTrainer.from_plan(q)
    assert trainer.hook_instances["clip"].max_norm == 0.5
    with pytest.raises(PlanResolveError, match="no hook named 'clap'"):
        apply_overrides(p, {"hook.clap.max_norm": "1"})
    with pytest.raises(PlanResolveError, match="hook 'clip'.*max_norm"):
        HookBasedTrainer.from_plan(apply_overrides(p, {"hook.clip.max_norm": "-1"}))
    with pytest.raises(PlanResolveError, match="max_stpe"):
        HookBasedTrainer.from_plan(apply_overrides(p, {"trainer.max_stpe": "1"}))
    assert [parse_override_value(v) for v in ("10_000", "-0.5", "true", "none", "[1, 2]", "a.b")] == [
        10000, -0.5, True, None, [1, 2], "a.b",
    ]


def test_import_paths_resolve_with_and_without_colons() -> None:
    assert import_path("torch.optim.AdamW") is torch.optim.AdamW
    assert import_path("torch.optim:AdamW") is torch.optim.AdamW
    assert import_path("torch.optim.lr_scheduler.StepLR") is torch.optim.lr_scheduler.StepLR
    with pytest.raises(PlanResolveError, match="no attribute"):
        import_path("torch.optim.NoSuchOptimizer")
    with pytest.raises(PlanResolveError):
        import_path("no_such_module_xyz.thing")


def test_accelerator_passed_in_is_used() -> None:
    acc = Accelerator(cpu=True)
    p = plan(trainer_block(max_step=1), [], [])
    assert HookBasedTrainer.from_plan(p, acc).accelerator is acc


def test_loss_log_and_throughput_builtins_report(capsys) -> None:
    p = plan(
        trainer_block(max_step=4),
        [
            hook("optimize", "optimizer", {}, builtin=True),
            hook("loss", "loss_log", {"window": 2}, builtin=True),
            hook("speed", "throughput", {"window": 2}, builtin=True),
        ],
        [entry("optimize", "step", "after"), entry("loss", "step", "after"), entry("speed", "step", "after", main=True)],
    )
    trainer = run(p)
    loss, speed = trainer.hook_instances["loss"], trainer.hook_instances["speed"]
    assert loss.last_mean is not None and loss.last_mean > 0
    assert speed.rate is not None and speed.rate > 0 and speed._bar is None  # closed at the end
    out = capsys.readouterr()
    assert "step 2: loss" in out.out and "step 4: loss" in out.out
    assert "4/4" in out.err  # the tqdm bar reached the run's length
