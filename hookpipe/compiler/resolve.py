"""Pass: collect declarations across files and resolve names.

Builds the alias table, the hook table (types resolved, arguments as JSON,
effects), the merged trainer settings and the order statements. Duplicate
definitions are HP009; unknown names HP002 with a suggestion.
"""

from __future__ import annotations

import re

from hookpipe.compiler.catalog import BUILTINS, seed_hook_type, unknown_runtime_name
from hookpipe.compiler.class_effects import merge
from hookpipe.compiler.context import Compilation, HookInfo
from hookpipe.compiler.plan import EFFECT_KINDS, Effects
from hookpipe.compiler.suggest import did_you_mean
from hookpipe.compiler.values import arguments, object_path
from hookpipe.diagnostics import Note
from hookpipe.dsl import ast
from hookpipe.dsl.transform import RUN_PREFIX

#: What a hook without an effect block declares (Effects are immutable, so one is shared).
_NO_EFFECTS = Effects()


def resolve_names(ctx: Compilation) -> None:
    _headers_and_uses(ctx)
    _trainer(ctx)
    for item in ctx.items():
        if isinstance(item, ast.HookDecl):
            _hook(ctx, item)
        elif isinstance(item, ast.OrderStmt):
            ctx.orders.append(item)
    for stmt in ctx.orders:
        for name, span in ((stmt.first, stmt.first_span), (stmt.second, stmt.second_span)):
            if name not in ctx.hooks:
                ctx.unknown("HP002", f"unknown hook `{name}` in `{'require' if stmt.hard else 'order'}`", span,
                          help=did_you_mean(name, ctx.hooks) or "declare it with `hook NAME = TYPE(...)`")


def _headers_and_uses(ctx: Compilation) -> None:
    main_file = ctx.files[-1][0] if ctx.files else None
    for f, _ in ctx.files:
        for item in f.items:
            if isinstance(item, ast.Header) and (f is main_file or ctx.name is None):
                ctx.name = item.name
            elif isinstance(item, ast.Use):
                if item.alias == RUN_PREFIX:
                    ctx.error("HP009", f"alias `{RUN_PREFIX}` is taken: `run.NAME` are the run-time values "
                              "(run.updates, run.steps, ...)", item.alias_span, help="give the module another alias")
                    continue
                previous = ctx.uses.get(item.alias)
                if previous is not None and previous.module != item.module:
                    ctx.error("HP009", f"alias `{item.alias}` is defined twice", item.alias_span,
                              notes=(Note(f"first defined here as \"{previous.module}\"", previous.span),),
                              help="give one of them another name")
                    continue
                ctx.uses.setdefault(item.alias, item)


def _trainer(ctx: Compilation) -> None:
    """Merge trainer blocks: a later file (the includer) wins; one file may not repeat a key."""
    for f, _ in ctx.files:
        in_file: dict[str, ast.Setting] = {}
        for item in f.items:
            if not isinstance(item, ast.Trainer):
                continue
            ctx.trainer_span = item.span if f is ctx.files[-1][0] or ctx.trainer_span is None else ctx.trainer_span
            for setting in item.settings:
                if setting.key in in_file:
                    ctx.error("HP009", f"trainer setting `{setting.key}` is set twice", setting.span,
                              notes=(Note("first set here", in_file[setting.key].span),),
                              help="keep one of them")
                    continue
                in_file[setting.key] = setting
        ctx.settings.update(in_file)


def _hook(ctx: Compilation, decl: ast.HookDecl) -> None:
    if decl.name in ctx.hooks:
        first = ctx.hooks[decl.name].decl
        ctx.error("HP009", f"hook `{decl.name}` is defined twice", decl.name_span,
                  notes=(Note("first defined here", first.name_span),), help="rename one of them")
        return
    builtin = None
    if isinstance(decl.type, ast.Ref) and len(decl.type.parts) == 1:
        name = decl.type.parts[0]
        builtin = BUILTINS.get(name)
        if builtin is None:
            ctx.error("HP002", f"unknown hook type `{name}`", decl.type.span,
                      help=did_you_mean(name, BUILTINS) or
                      f"built-in types: {', '.join(sorted(BUILTINS))}; "
                      "a Python class needs a `use` alias or a quoted path")
            type_name = None
        else:
            type_name = name
    else:
        type_name = object_path(ctx, decl.type)
        # RoboOrchard Lab's hooks are known by path: their effects, placement and arguments.
        builtin = seed_hook_type(type_name) if type_name is not None else None
        if builtin is None and type_name is not None:
            _runtime_name(ctx, decl, type_name)
    before = (len(ctx.diagnostics), ctx.unresolved)
    args = arguments(ctx, decl.args)
    args_ok = (len(ctx.diagnostics), ctx.unresolved) == before
    declared = _declared_effects(decl)
    collective = _flags(ctx, decl, builtin is not None)
    effects, callbacks = declared, dict[str, Effects]()
    if builtin is not None:
        own = builtin.effects_for(args)
        effects = Effects.union(own, declared)
        collective = builtin.collective
    elif type_name is not None and ctx.classes is not None:
        effects, callbacks, collective = _class_declarations(ctx, decl, type_name, declared, collective)
    if type_name is None:
        type_name = "<unresolved>"
    ctx.hooks[decl.name] = HookInfo(decl, type_name, builtin, effects, args, args_ok, callbacks, collective)


def _runtime_name(ctx: Compilation, decl: ast.HookDecl, type_name: str) -> None:
    """HP002 for a path into ``hookpipe.runtime`` that names nothing there (``GradientClipingHookConfig``).

    The runtime's names are known without importing it (``catalog.RUNTIME_EXPORTS``...): a
    typo there would otherwise pass as an unknown custom class, losing the seed type's
    effects, placement and argument checks, and fail only when the run imports it.
    """
    unknown = unknown_runtime_name(type_name)
    if unknown is None:
        return
    package, name, known = unknown
    closest = _closest_name(name, known)
    written = ".".join(decl.type.parts) if isinstance(decl.type, ast.Ref) else type_name
    configs = [k for k in known if k.endswith("Config") and k != "PipelineHooksConfig"]
    if closest is not None:  # the whole path, as written, with the one name corrected
        pieces = re.split(r"([.:])", written)
        if name in pieces:
            at = pieces.index(name)
            help_text = f"did you mean `{''.join([*pieces[:at], closest, *pieces[at + 1:]])}`?"
        else:  # the name is in the `use` alias's module path
            help_text = f"did you mean `{package}.{closest}`? (in the `use` line's module path)"
    else:
        help_text = f"the hook types there: {', '.join(configs)}" if configs else f"names there: {', '.join(known)}"
    ctx.error("HP002", f"unknown hook type `{written}`: `{package}` has no `{name}`", decl.type.span,
              help=help_text)


def _closest_name(name: str, known: tuple[str, ...]) -> str | None:
    """The known name :func:`did_you_mean` suggests for ``name``, or None."""
    hint = did_you_mean(name, known)
    return hint.split("`")[1] if hint else None


def _flags(ctx: Compilation, decl: ast.HookDecl, builtin: bool) -> bool:
    """Whether the effect block says ``collective``; other bare names are HP002."""
    collective = False
    for effect in decl.effects or ():
        if effect.kind in EFFECT_KINDS:
            continue
        if effect.kind != "collective":
            ctx.error("HP002", f"unknown declaration `{effect.kind}` in the effects of `{decl.name}`", effect.span,
                      help=did_you_mean(effect.kind, ("collective",)) or
                      f"an effect block holds {'/'.join(f'`{k}`' for k in EFFECT_KINDS)} lines and the flag "
                      "`collective`")
        elif builtin:
            ctx.error("HP003", f"`collective` cannot be declared for the built-in `{decl.name}`: the catalog says "
                      "whether it is one", effect.span, help="remove the line")
        else:
            collective = True
    return collective


def _class_declarations(ctx: Compilation, decl: ast.HookDecl, type_name: str, declared: Effects,
                        collective: bool) -> tuple[Effects, dict[str, Effects], bool]:
    """A custom class's own ``effects``/``collective``, merged with the .pipe block's (``--resolve``)."""
    assert ctx.classes is not None
    try:
        info = ctx.classes(type_name)
    except ValueError as exc:
        ctx.error("HP003", f"hook `{decl.name}` ({type_name}): {exc}", decl.type.span,
                  help='e.g. effects = {"on_step_end": {"reads": ("params",)}}')
        return declared, {}, collective
    if info is None:  # not importable: `--resolve` reports it as HP002
        return declared, {}, collective
    effects, callbacks = merge(info, declared)
    return effects, callbacks, collective or info.collective


def _declared_effects(decl: ast.HookDecl) -> Effects:
    if decl.effects is None:
        return _NO_EFFECTS
    found: dict[str, tuple[str, ...]] = {kind: () for kind in EFFECT_KINDS}
    for effect in decl.effects or ():
        if effect.kind not in found:  # a flag (see _flags)
            continue
        found[effect.kind] = _union(found[effect.kind], effect.resources)
    return Effects(**found)


def _union(a: tuple[str, ...] | list[str], b: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*a, *b]))
