"""Spans, as the AST carries them: :class:`hookpipe.span.Span`.

The class lives at the package root because diagnostics, below every layer, point
at spans too; this name keeps ``hookpipe.dsl.span`` importable for the passes.
"""

from hookpipe.span import Span

__all__ = ["Span"]
