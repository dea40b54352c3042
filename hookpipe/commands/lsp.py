"""``hookpipe lsp``: the language server for editors, over stdio.

Needs the ``lsp`` extra (``pip install 'hookpipe[lsp]'``); without it the
command says so and exits 2 instead of failing with a traceback. Imports
nothing of the compiler itself: the server loads it after answering
``initialize``.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("lsp", help="run the language server for editors (stdio)",
                       description="The hookpipe language server: diagnostics, hover, completion, navigation, "
                       "rename, formatting and quick fixes for .pipe files, over stdin/stdout.")
    p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default and only transport)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from hookpipe.perf import kept_for_good

    try:
        with kept_for_good():  # pygls's import builds ~1,150 protocol classes, all kept while serving
            from hookpipe.lsp.server import serve
    except ImportError as exc:
        print(f"hookpipe: error: `hookpipe lsp` needs the lsp extra: pip install 'hookpipe[lsp]' ({exc})",
              file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        print("hookpipe lsp: a language server talks to an editor over stdin/stdout; "
              "start it from your editor (see editors/vscode/README.md)", file=sys.stderr)
    serve()
    return 0
