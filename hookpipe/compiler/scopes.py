"""Pass: walk the scope blocks, check nesting, and list every attachment.

Blocks for the same scope and phase merge; each attachment becomes a ``Node``
numbered in declaration order. A misspelt scope is HP002 with a suggestion, a
scope in the wrong place HP006, and its body is skipped so one mistake does not
cascade.
"""

from __future__ import annotations

from typing import Iterator

from hookpipe.compiler.context import Compilation, Node
from hookpipe.compiler.loop import VALIDATION, VALIDATION_SCOPES, validation_scope
from hookpipe.compiler.plan import PARENT
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.dsl import ast


def collect_attachments(ctx: Compilation) -> None:
    block_ids = iter(range(1 << 62))
    for item in ctx.items():
        if isinstance(item, ast.ScopeBlock):
            if item.name == VALIDATION or item.target is not None:
                _validation(ctx, item, block_ids)
            else:
                _scope(ctx, item, None, block_ids)


def _validation(ctx: Compilation, block: ast.ScopeBlock, block_ids: Iterator[int]) -> None:
    """``validation NAME { before { } batch { ... } after { } }``: the scopes of NAME's own validation loop."""
    if block.name != VALIDATION:
        ctx.error("HP006", f"`{block.name} {block.target}`: only `validation` blocks name a hook",
                  block.target_span or block.name_span,
                  help=f"write `{block.name} {{ ... }}`, or `validation {block.target} {{ ... }}` for the scopes of "
                       f"a validation hook's own run")
        return
    if block.target is None or block.target_span is None:
        ctx.error("HP006", "a `validation` block names the validation hook whose run it opens", block.name_span,
                  help="write `validation NAME { before { } batch { after { } } after { } }`")
        return
    info = ctx.hooks.get(block.target)
    if info is None:
        ctx.unknown("HP002", f"unknown hook `{block.target}`", block.target_span,
                    help=did_you_mean(block.target, ctx.hooks) or "declare it with `hook NAME = validation(...)`")
        return
    if info.builtin is None or info.builtin.name != "validation" or info.args.get("dataloader") is None:
        kind = info.builtin.name if info.builtin is not None else info.type_name
        missing = "has no `dataloader`" if info.builtin is not None and info.builtin.name == "validation" \
            else f"is a {kind} hook"
        ctx.error("HP006", f"`{block.target}` {missing}: it has no validation loop to open", block.target_span,
                  help="a validation block opens the batches of a `validation(..., dataloader = ...)` hook; "
                       "give it a `dataloader`, or attach these hooks in the training loop's scopes")
        return
    _validation_body(ctx, block.target, VALIDATION, block.body, block_ids)


def _validation_body(ctx: Compilation, hook: str, inner: str, body: tuple[ast.ScopeBlock | ast.PhaseBlock, ...],
                     block_ids: Iterator[int]) -> None:
    scope = validation_scope(hook, inner)
    for child in body:
        if isinstance(child, ast.PhaseBlock):
            _phase(ctx, scope, child, next(block_ids), block_ids, within=hook)
        elif inner == VALIDATION and child.name == "batch" and child.target is None:
            _validation_body(ctx, hook, "batch", child.body, block_ids)
        elif child.name in PARENT or child.name in VALIDATION_SCOPES:
            ctx.error("HP006", f"scope `{child.name}` cannot be nested inside `{inner}` of a validation block",
                      child.name_span,
                      help="a validation block holds `before`, `batch { before { } after { } }` and `after`")
        else:
            ctx.error("HP002", f"unknown scope `{child.name}`", child.name_span,
                      help=did_you_mean(child.name, ["batch"]) or "a validation block's only scope is `batch`")


def _scope(ctx: Compilation, block: ast.ScopeBlock, parent: str | None, block_ids: Iterator[int]) -> None:
    if block.name not in PARENT:
        ctx.error("HP002", f"unknown scope `{block.name}`", block.name_span,
                  help=did_you_mean(block.name, PARENT) or f"scopes: {', '.join(PARENT)}")
        return
    expected = PARENT[block.name]
    if expected != parent:
        where = f"inside `{parent}`" if parent else "at the top level"
        home = f"inside `{expected}`" if expected else "at the top level"
        ctx.error("HP006", f"scope `{block.name}` cannot be nested {where}", block.name_span,
                  help=f"`{block.name}` belongs {home} (loop > epoch > step > batch > forward/backward)")
        return
    for child in block.body:
        if isinstance(child, ast.ScopeBlock):
            _scope(ctx, child, block.name, block_ids)
        else:
            _phase(ctx, block.name, child, next(block_ids), block_ids)


def _phase(ctx: Compilation, scope: str, block: ast.PhaseBlock, block_id: int, block_ids: Iterator[int],
           bracket: int | None = None, within: str | None = None) -> None:
    """A Node for each attachment of one phase block (the loop every attachment passes through).

    ``within``: the validation hook whose own scopes these are (``validation NAME { }``).
    """
    hooks, nodes, phase = ctx.hooks, ctx.nodes, block.phase
    push = nodes.append
    for chain in block.chains:
        if isinstance(chain, ast.Bracket):
            _bracket(ctx, scope, phase, chain, block_id, block_ids, bracket, within)
            continue
        for attachment in chain.attachments:
            info = hooks.get(attachment.hook)
            if info is None or (info.builtin is not None and not info.builtin.allows(scope, phase)):
                _refuse(ctx, scope, phase, attachment)
            elif within is not None and info.builtin is not None and info.builtin.name == "validation":
                ctx.error("HP006", f"`{attachment.hook}` (validation) cannot run inside a validation run",
                          attachment.name_span,
                          help="a validation inside another's batches would evaluate once per batch; attach it in "
                               "the training loop")
            elif bracket is not None and info.builtin is not None and info.builtin.saves_checkpoint:
                ctx.error("HP006", f"`{attachment.hook}` ({info.builtin.name}) cannot run inside a bracket",
                          attachment.name_span,
                          help="inside `with`, the model holds the bracket's weights: a checkpoint there would resume "
                               "training from them; attach it outside (an `ema` hook's averages are in every "
                               "checkpoint)")
            elif info.builtin is not None and info.builtin.bracket:
                ctx.error("HP006", f"`{attachment.hook}` ({info.builtin.name}) is a bracket, not an attachment",
                          attachment.name_span,
                          help=f"write `with {attachment.hook} {{ ... }}` around the attachments it brackets")
            else:
                push(Node(len(nodes), attachment.hook, scope, phase, block_id, attachment, bracket))


def _bracket(ctx: Compilation, scope: str, phase: str, item: ast.Bracket, block_id: int, block_ids: Iterator[int],
             outer: int | None, within: str | None = None) -> None:
    """``with NAME { ... }``: a bracket node in the enclosing block, its contents in a block of their own."""
    info = ctx.hooks.get(item.hook)
    as_attachment = ast.Attachment(item.hook, None, None, None, False, None, None, item.name_span, item.name_span)
    if info is None:
        _refuse(ctx, scope, phase, as_attachment)
        return
    if info.builtin is not None and not info.builtin.bracket:
        ctx.error("HP006", f"`{item.hook}` ({info.builtin.name}) is not a bracket hook", item.name_span,
                  help="`with NAME { }` needs a hook with enter and exit callbacks: `ema_swap(source = ...)` "
                       "or a custom class defining `enter(args)` and `exit(args)`")
        return
    node = Node(len(ctx.nodes), item.hook, scope, phase, block_id, as_attachment, outer, opens=True)
    ctx.nodes.append(node)
    inner = ast.PhaseBlock(phase, item.chains, item.span)
    _phase(ctx, scope, inner, next(block_ids), block_ids, node.id, within)


def _refuse(ctx: Compilation, scope: str, phase: str, attachment: ast.Attachment) -> None:
    info = ctx.hooks.get(attachment.hook)
    if info is None:
        ctx.unknown("HP002", f"unknown hook `{attachment.hook}`", attachment.name_span,
                  help=did_you_mean(attachment.hook, ctx.hooks) or "declare it with `hook NAME = TYPE(...)`")
    elif info.builtin is not None:
        within = " (not inside a validation run's batches)" if any(p.startswith("*.") for p in info.builtin.phases) \
            else ""
        ctx.error("HP006", f"`{attachment.hook}` ({info.builtin.name}) cannot run in {scope}.{phase}",
                  attachment.name_span,
                  help=f"{info.builtin.name} hooks attach to {', '.join(info.builtin.phases)}{within}")
