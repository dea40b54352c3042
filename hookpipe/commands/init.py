"""``hookpipe init [DIR]``: write a starter project that checks, lints and trains as written.

Never overwrites: when any of the files exists, nothing is written and the
command says which (exit 2). The project name is the folder's name.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from hookpipe.commands.common import usage_error
from hookpipe.fileio import write_atomic


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("init", help="write a starter project (a .pipe, its Python module, pyproject.toml)")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the project folder (default: here)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from hookpipe.starter import FILES, read

    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        return usage_error(f"{folder}: not a folder")
    existing = [name for name, _ in FILES if (folder / name).exists()]
    if existing:
        return usage_error(f"{folder}: {', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
                           "nothing was written (choose an empty folder: hookpipe init DIR)")
    name = _project_name(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for file, template in FILES:
        write_atomic(str(folder / file), read(template, name))
    where = "" if args.dir == "." else f"cd {folder} && "
    print(f"wrote {', '.join(f for f, _ in FILES)} into {folder}", file=sys.stderr)
    print(f"next: {where}hookpipe check train.pipe && hookpipe lint . && hookpipe run train.pipe", file=sys.stderr)
    return 0


def _project_name(folder: Path) -> str:
    raw = folder.resolve().name or "project"
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-")
    return name or "project"
