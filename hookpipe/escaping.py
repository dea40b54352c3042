"""The one escaping function for text a user's file, file name or config puts in hookpipe's output.

A pull request chooses its strings, comments, file names, folder names and TOML
keys. Printed raw, a newline in one starts a new line of output (a forged
diagnostic, or a ``::error`` workflow command in a CI log), ESC and BEL move the
terminal's cursor, recolour it or open an OSC 8 hyperlink, and bidi controls
(U+202E, U+2066...) reorder what a reviewer reads (Trojan Source). So every such
value passes through :func:`escape` before it reaches a message, in every output
format (text, ``explain``, ``check``, stderr, config errors, ``github``, ``json``,
``sarif``, the language server's messages and hover).

What is escaped is everything Python does not call printable: C0 and C1 controls
(newline, tab, ESC, BEL, DEL), format characters (Unicode category Cf: bidi
controls, zero-width joiners, the BOM), line and paragraph separators (U+2028,
U+2029), other separators than the ASCII space, private-use and unassigned code
points, each shown as a visible Python escape (``\\n``, ``\\x1b``, ``\\u202e``).
Undecodable bytes of a file name (surrogate escapes) print as ``\\xNN``. Printable
text, every script and emoji included, is left as it is.

One printable form is escaped too: ``::`` at the start of a value (after spaces). A
file name such as ``::error file=README.md::x.pipe`` is printed at the start of a
line by every text report (``lint``, ``check``, ``fmt``, ``diff``), and GitHub's
runner executes a line whose text, leading whitespace trimmed, starts with ``::``.
Its first colon is shown as ``\\x3a``; a ``::`` inside a value is left alone (no
line starts there). The runner's older command form, ``##[error ...]msg``, is
executed wherever ``##[`` stands in a line (its parser searches the line for it), so
that form is escaped everywhere in a value: its second ``#`` is shown as ``\\x23``.
"""

from __future__ import annotations

__all__ = ["escape"]


def escape(text: str, *, keep_tabs: bool = False) -> str:
    """``text`` with every character that could move, hide or reorder output shown as an escape.

    ``keep_tabs`` leaves tabs alone, for a quoted source line that expands them itself.

    Example:
        >>> escape("ok\\n::error::forged \\x1b[31m\\u202e")
        'ok\\\\n::error::forged \\\\x1b[31m\\\\u202e'
        >>> escape("déjà vu 🙂")
        'déjà vu 🙂'
        >>> escape("::error file=README.md::x.pipe")
        '\\\\x3a:error file=README.md::x.pipe'
        >>> escape("x.pipe # ##[error file=a;line=1]forged")
        'x.pipe # #\\\\x23[error file=a;line=1]forged'
    """
    if text.isprintable():  # one C loop: the usual case costs nothing more
        return _no_command(text)
    out = []
    for ch in text:
        if ch.isprintable() or keep_tabs and ch == "\t":
            out.append(ch)
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            code = ord(ch)
            if ch == "\n":
                out.append("\\n")
            elif ch == "\t":
                out.append("\\t")
            elif ch == "\r":
                out.append("\\r")
            elif code <= 0xFF:
                out.append(f"\\x{code:02x}")
            elif code <= 0xFFFF:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    return _no_command("".join(out))


def _no_command(text: str) -> str:
    """``text`` whose first ``::`` (after spaces) cannot start a GitHub workflow command, nor any ``##[``."""
    if "##[" in text:
        text = text.replace("##[", "#\\x23[")
    body = text.lstrip(" ")
    if not body.startswith("::"):
        return text
    return text[: len(text) - len(body)] + "\\x3a" + body[1:]
