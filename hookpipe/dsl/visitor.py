"""Dispatch on a node's class name: ``visit_<Class>``, the jinja2 ``NodeVisitor`` way.

The formatter (over the typed AST) and the renderer (over its graph model) both
walk trees; one dispatcher keeps them free of ``isinstance`` ladders, and a node
type nobody handles fails loudly instead of being skipped.
"""

from __future__ import annotations

from typing import Any


class NodeVisitor:
    """Calls ``visit_<ClassName>(node, *args)``; ``generic_visit`` when there is none."""

    def visit(self, node: Any, *args: Any) -> Any:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            return self.generic_visit(node, *args)
        return method(node, *args)

    def generic_visit(self, node: Any, *args: Any) -> Any:
        raise TypeError(f"{type(self).__name__} cannot visit {type(node).__name__}")
