"""``hookpipe import mmengine|robo|lightning FILE -o OUT.pipe``: another framework's hooks as a ``.pipe``.

The input is read through ``hookpipe.fileaccess`` and never executed, with one
exception the user asks for: an MMEngine config is read with MMEngine's own
``Config.fromfile`` when ``mmengine`` is installed (that runs the config as Python,
as MMEngine itself would; stderr says so, and ``--no-execute`` reads the documented
subset instead). The output is formatted, written atomically, and never over an
existing file unless ``--force``. Lines that need a person end in a
``# hookpipe import:`` comment and are listed on stderr. Exit 0 written, 1 written
with marked lines (or errors ``hookpipe check`` finds in it), 2 usage or
unreadable input (nothing written).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookpipe.commands.common import usage_error
from hookpipe.fileaccess import MAX_SOURCE_BYTES, Refused, decode_source, display_name, project_root, read_bytes
from hookpipe.porting.pyconfig import MAX_DEPTH, Budget, TooBig, check_string

if TYPE_CHECKING:
    from hookpipe.porting.model import Port

KINDS = ("mmengine", "robo", "lightning")


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("import", help="write a .pipe from an MMEngine config, RoboOrchard Lab hook JSON or a "
                                      "LightningCLI YAML config")
    p.add_argument("kind", choices=KINDS, metavar="KIND", help="mmengine, robo or lightning")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT.pipe", help="the .pipe file to write")
    p.add_argument("--force", action="store_true", help="replace OUT.pipe if it exists")
    p.add_argument("--module", metavar="MODULE",
                   help="the Python module that defines the port's factories and callbacks (written as `use project "
                        "= MODULE`; without it a placeholder, marked)")
    p.add_argument("--no-execute", action="store_true",
                   help="mmengine: read the config without executing it, even when mmengine is installed")
    p.add_argument("--allow-outside-root", action="store_true",
                   help="read FILE (and MMEngine `_base_` files) outside the project root")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    source = Path(args.file)
    shown = display_name(args.file)
    output = Path(args.output)
    if output.suffix != ".pipe":
        return usage_error(f"{display_name(args.output)}: the output must be a .pipe file")
    if os.path.lexists(output) and not args.force:
        return usage_error(f"{display_name(args.output)} exists; pass --force to replace it")
    if "\0" in args.file or not os.path.lexists(source):
        return usage_error(f"{shown}: no such file")
    root = None if args.allow_outside_root else project_root(source)
    try:
        port = _read(args.kind, source, root, shown, args.no_execute, args.module)
    except _Unreadable as exc:
        return usage_error(str(exc))
    from hookpipe.porting.writer import write_port

    written = write_port(port)
    from hookpipe.fileio import OutputError, write_atomic

    try:
        write_atomic(output, written.text)
    except OutputError as exc:
        return usage_error(str(exc))
    out = display_name(args.output)
    for line, note in written.marked:
        print(f"{out}:{line}: needs a person: {note}", file=sys.stderr)
    if port.needs:
        module = display_name(port.module or "the module on the `use project` line")
        print(f"hookpipe import: {module} must define: " +
              "; ".join(f"{name}: {display_name(what)}" for name, what in port.needs.items()), file=sys.stderr)
    errors = _check(args.output)
    for line, message in errors:
        print(f"{out}:{line}: hookpipe check: {message}", file=sys.stderr)
    count = len(written.marked)
    if count == 1:
        summary = "1 line marked `# hookpipe import:` needs a person"
    elif count:
        summary = f"{count} lines marked `# hookpipe import:` need a person"
    else:
        summary = "nothing needs a person"
    if errors:
        summary += f"; hookpipe check reports {len(errors)} error{'s' if len(errors) != 1 else ''}"
    print(f"hookpipe import: wrote {out} from {shown}: {summary}", file=sys.stderr)
    return 1 if count or errors else 0


class _Unreadable(Exception):
    """The input cannot be read or is not the KIND it was said to be: exit 2, nothing written."""


def _read(kind: str, source: Path, root: Path | None, shown: str, no_execute: bool, module: str | None) -> Port:
    if module is not None and not all(part.isidentifier() for part in module.split(".")):
        raise _Unreadable(f"--module {display_name(module)}: not a dotted Python module name")
    name = source.stem.replace(".", "_") or "imported"
    if kind == "mmengine":
        return _mmengine(source, root, shown, name, no_execute, module)
    text = _text(source, root, shown)
    if kind == "robo":
        from hookpipe.porting.robo import RoboInputError, port_robo

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _Unreadable(f"{shown}:{exc.lineno}: not JSON: {exc.msg} (write the configs with to_str())") from exc
        except RecursionError as exc:
            raise _Unreadable(f"{shown}: not a config hookpipe reads: it nests lists and dicts deeper than "
                              f"{MAX_DEPTH} levels") from exc
        try:
            Budget().count(data)
        except TooBig as exc:
            raise _Unreadable(f"{shown}: not a config hookpipe reads: {exc}") from exc
        try:
            return port_robo(data, name, shown, module)
        except RoboInputError as exc:
            raise _Unreadable(f"{shown}: {exc}") from exc
    from hookpipe.porting.lightning import NOT_A_CLI_CONFIG, LightningInputError, port_lightning

    if source.suffix == ".py":  # a training script is no YAML: say what is read, not what the YAML parser thinks
        raise _Unreadable(f"{shown}: {NOT_A_CLI_CONFIG}")
    try:
        return port_lightning(_yaml(text, shown), name, shown, module)
    except LightningInputError as exc:
        raise _Unreadable(f"{shown}: {exc}") from exc


def _text(source: Path, root: Path | None, shown: str) -> str:
    try:
        return decode_source(read_bytes(source, root, MAX_SOURCE_BYTES))
    except Refused as exc:
        raise _Unreadable(f"{shown}: the file {exc.reason}; {exc.help}") from exc


def _yaml(text: str, shown: str) -> Any:
    """The YAML document in ``text``, safely loaded, counted before it is built.

    Its node graph (``yaml.SafeLoader``'s public ``get_single_node``) is counted
    with ``Budget`` first: an alias is one node there (a billion-laughs document is
    a few dozen) but a copy of its anchor in the output, and an alias may even
    point into its own anchor. Only a document within the limits is constructed.
    """
    try:
        import yaml
    except ImportError as exc:
        raise _Unreadable("hookpipe import lightning reads YAML with PyYAML, which is not installed; install it "
                          "(pip install 'hookpipe[import]')") from exc
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _count_yaml(node, yaml)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise _Unreadable(f"{shown}{where}: {display_name(str(problem))}") from exc
    except _TooBigYaml as exc:
        raise _Unreadable(f"{shown}:{exc.line}: not a config hookpipe reads: {exc.args[0]}") from exc
    except RecursionError as exc:
        raise _Unreadable(f"{shown}: not a config hookpipe reads: it nests lists and dicts deeper than "
                          f"{MAX_DEPTH} levels") from exc
    except (ValueError, TypeError, OverflowError) as exc:  # a tagged scalar the constructor cannot make (`!!int x`)
        raise _Unreadable(f"{shown}: not valid YAML: {display_name(str(exc))[:200]}") from exc
    finally:
        if loader is not None:
            loader.dispose()


#: YAML's numbers are parsed by PyYAML digit by digit (``1:2:3`` is base 60, in quadratic time):
#: a number written longer than this is refused before it is built (Python refuses 4,300 digits).
MAX_YAML_NUMBER = 100
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class _TooBigYaml(Exception):
    """A ``TooBig`` with the line of the node where it was found."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _count_yaml(root: Any, yaml: Any) -> None:
    """``Budget.count`` for a composed YAML node graph: an alias counts as its anchor's whole node, each time."""
    budget = Budget()
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        line = node.start_mark.line + 1
        try:
            if isinstance(node, yaml.ScalarNode):
                check_string(node.value)
                if node.tag in _NUMBER_TAGS and len(node.value) > MAX_YAML_NUMBER:
                    raise TooBig(f"it writes a number with more than {MAX_YAML_NUMBER} characters")
                budget.spend(1, len(node.value))
                continue
            if depth >= MAX_DEPTH:
                raise TooBig(f"it nests lists and dicts deeper than {MAX_DEPTH} levels")
            budget.spend(1)
        except TooBig as exc:
            raise _TooBigYaml(str(exc), line) from exc
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend(((key, depth + 1), (value, depth + 1)))


def _mmengine(source: Path, root: Path | None, shown: str, name: str, no_execute: bool,
              module: str | None) -> Port:
    from hookpipe.porting.mmengine import port_mmengine

    if not no_execute and _has_mmengine():
        print(f"hookpipe import: reading {shown} with mmengine's Config.fromfile, which executes it (and its "
              "_base_ files) as Python; pass --no-execute to read it without running it", file=sys.stderr)
        _text(source, root, shown)  # the same refusals as every other input, before anything runs
        from mmengine.config import Config

        try:
            cfg = Config.fromfile(str(source)).to_dict()
        except Exception as exc:  # noqa: BLE001 - any error of the user's config is the user's to read
            raise _Unreadable(f"{shown}: mmengine could not read it: {display_name(str(exc))[:400]}") from exc
        try:
            Budget().count(cfg)  # what the config built is written out as the other readers' values are
        except TooBig as exc:
            raise _Unreadable(f"{shown}: not a config hookpipe reads: {exc}") from exc
        return port_mmengine(cfg, name, shown, module)
    from hookpipe.porting.pyconfig import ConfigError, read_config

    unread: list[str] = []
    try:
        cfg = read_config(source, root, unread)
    except ConfigError as exc:
        raise _Unreadable(str(exc)) from exc
    return port_mmengine(cfg, name, shown, module, unread)


def _has_mmengine() -> bool:
    import importlib.util

    return importlib.util.find_spec("mmengine") is not None


def _check(path: str) -> list[tuple[int, str]]:
    """The errors ``hookpipe check`` reports in the written file (line, message)."""
    from hookpipe.compiler.pipeline import compile_path

    ctx = compile_path(path, allow_outside_root=True)
    return [(d.span.line, display_name(d.message)) for d in ctx.diagnostics if d.severity == "error"]
