"""Whether formatting keeps every token under the same suppressions.

``fmt`` prints the AST back, so the Plan cannot change; but a suppression
(``# hookpipe: ignore[HP101]``) applies to the line it sits on, and joining a
value written over several lines onto one line can put code under a
suppression it was not under, or a second comment after a suppression. Lint
findings point at tokens, so comparing, token by token, the codes suppressed on
its line before and after tells whether any finding could change.

Whether every comment survives is a separate question (:func:`keeps_comments`):
joining a value also joins the comments inside it onto one line, where they read
as one comment, so comparing comment by comment would refuse a file whose
comments all survive, and blame a suppression it does not have.
"""

from __future__ import annotations

from collections import Counter

from hookpipe.dsl import ast
from hookpipe.dsl.grammar import tokens
from hookpipe.lint.suppress import marked_codes

#: Tokens the formatter may add or drop (separators): no finding points at them.
_SEPARATORS = {"_NL", "COMMA", "SEMICOLON"}


def suppressed_tokens(text: str, comments: tuple[ast.Comment, ...]) -> list[frozenset[str]]:
    """Per token (separators aside), the codes suppressed on its line."""
    marks: dict[int, frozenset[str]] = {}
    for comment in comments:
        codes = marked_codes(comment.text)
        if codes is not None:
            marks[comment.span.line] = frozenset(codes)
    if not marks:
        return []
    return [marks.get(tok.line or 0, frozenset()) for tok in tokens(text) if tok.type not in _SEPARATORS]


def keeps_suppressions(before: ast.File, before_text: str, after: ast.File, after_text: str) -> bool:
    """True when every token stays under exactly the suppressions it was under.

    A file without a ``# hookpipe: ignore[...]`` comment before or after always keeps them.
    """
    return suppressed_tokens(before_text, before.comments) == suppressed_tokens(after_text, after.comments)


def keeps_comments(before: ast.File, after: ast.File) -> bool:
    """True when the comments after say, word for word, what the comments before said.

    Words rather than comments: two comments joined onto one line are one comment
    to the parser (``# a  # b``), and a comment may move to another line, so
    neither the count, the order nor the spacing between them is kept.
    """
    return _words(before) == _words(after)


def _words(file: ast.File) -> Counter[str]:
    return Counter(word for comment in file.comments for word in comment.text.split())
