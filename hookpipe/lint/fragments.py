"""Which of a run's files are include fragments, found before compiling any of them.

``lint`` and ``check`` of a folder report a file that another found file includes
through that includer only (docs/lint.md). Finding that out by compiling every
file first cost, in a folder where file i includes every later file, n
compilations of up to n files each: 160 files took 49 s and 300 files (1.2 MB)
over five minutes. So the includes are read first, each file once, with a line
scan (no parse: parsing is what costs), and only the files that no other found
file includes are compiled first.

The scan finds every include the parser would (an ``include "..."`` item is
alone at the start of its line) and may find more: in a file with a syntax error
the loader follows none, and a deep chain stops at ``MAX_INCLUDE_DEPTH``. So the
split only orders the work: a file it calls a fragment that no compiled file
actually read is compiled after all (:func:`leftovers`), and what is reported is
still decided by ``is_fragment`` over the real compilations.
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

import networkx as nx
from lark import Token

from hookpipe.dsl.transform import unquote
from hookpipe.fileaccess import Refused, inside, project_root, read_source, resolve

#: ``include "path"`` at the start of a line (blanks before it; what follows is not looked at).
_INCLUDE = re.compile(r'^[ \t\f]*include[ \t\f]*("[^"\\\n]*(?:\\.[^"\\\n]*)*")', re.MULTILINE)


@dataclass(frozen=True)
class Split:
    """A run's files in the order to compile them: roots first, then the probable fragments."""

    #: Files no other found file includes (or only ones they include back), in the order given.
    roots: list[str]
    #: Files another found file includes, includers before what they include.
    fragments: list[str]


def included_paths(text: str) -> list[str]:
    """The paths of the ``include`` lines of ``text``, as the parser would read them.

    Example:
        >>> included_paths('include "a.pipe"\\n  include "b\\\\"c.pipe"  # x\\n# include "no.pipe"\\n')
        ['a.pipe', 'b"c.pipe']
    """
    return [unquote(Token("STRING", m.group(1))) for m in _INCLUDE.finditer(text)]


def split(paths: Sequence[str], root: str | os.PathLike[str] | None = None, allow_outside_root: bool = False,
          keep: Collection[str] = ()) -> Split:
    """Split ``paths`` into roots and probable include fragments, reading each file at most once.

    Files are read as the loader reads them: inside each path's project root (or
    ``root``), unless ``allow_outside_root``. ``keep`` names paths never treated
    as fragments (``check`` checks the files named on its command line on their own).
    """
    graph: nx.DiGraph = nx.DiGraph()
    keys: list[str | None] = []
    queue: deque[tuple[Path, str, Path | None]] = deque()
    fixed = Path(root).resolve() if root is not None else None
    roots: dict[str, Path] = {}  # folder -> its project root (a folder of 200 files has one)
    for path in paths:
        key = _key(path)
        keys.append(key)
        if key is not None and key not in graph:
            graph.add_node(key)
            folder = os.path.dirname(os.path.abspath(path))
            if fixed is None and folder not in roots:
                roots[folder] = project_root(path)
            queue.append((Path(path), key, None if allow_outside_root else fixed or roots[folder]))
    _scan(queue, graph)
    condensed = nx.condensation(graph)
    order = {c: i for i, c in enumerate(nx.topological_sort(condensed))}
    below = _below_another(condensed, order, {key for key in keys if key is not None})
    members = condensed.graph["mapping"]
    found = [(order[members[k]], i, p) for i, (p, k) in enumerate(zip(paths, keys)) if k in below and p not in keep]
    chosen = {p for _, _, p in found}
    return Split([p for p in paths if p not in chosen], [p for _, _, p in sorted(found)])


def leftovers(fragments: Iterable[str], covered: set[str], compile_one: Callable[[str], Iterable[str]]) -> None:
    """Compile each probable fragment that no compiled file read, includers first.

    ``covered`` holds the keys (:func:`file_key`) of the files the compilations so
    far read through includes; ``compile_one`` compiles a file and returns the keys
    of those it read, which are added. In include order, one leftover covers
    those below it (a chain cut at the depth limit is compiled in pieces of that depth).
    """
    for path in fragments:
        if file_key(path) not in covered:
            covered.update(compile_one(path))


def file_key(path: str) -> str:
    """Which file ``path`` is, to match includes; a path that cannot be resolved stands for itself."""
    try:
        return str(resolve(path))
    except Refused:
        return str(Path(os.path.abspath(path)))


def _key(path: str) -> str | None:
    try:
        return str(resolve(path))
    except Refused:
        return None


def _scan(queue: deque[tuple[Path, str, Path | None]], graph: nx.DiGraph) -> None:
    """Read the queued files and what they include, adding ``includer -> included`` edges.

    Each file is read once, inside the root of the first path that reached it; one
    that cannot be read (missing, outside the root, too large) includes nothing.
    An include is resolved from the path that reached its file, as the loader does,
    and each include path once (a folder of n files can hold n * n / 2 include lines).
    """
    resolved: dict[tuple[str, str, str], str | None] = {}  # (folder, include, root) -> key, if followed
    while queue:
        path, key, root = queue.popleft()
        try:
            text = read_source(path, root)
        except Refused:
            continue
        folder, within = os.fspath(path.parent), os.fspath(root or "")
        for included in included_paths(text):
            cached = (folder, included, within)
            if cached not in resolved:
                resolved[cached] = _follow(path.parent / included, root)
            real = resolved[cached]
            if real is None:
                continue
            if real not in graph:
                queue.append((path.parent / included, real, root))
            graph.add_edge(key, real)


def _follow(target: Path, root: Path | None) -> str | None:
    """The key of an included file the loader would read, or None (missing, outside ``root``)."""
    try:
        real = resolve(target)
    except Refused:
        return None
    return str(real) if root is None or inside(real, root) else None


def _below_another(condensed: nx.DiGraph, order: dict[int, int], found: set[str]) -> set[str]:
    """The found files that another found file reaches and that do not reach it back.

    That is ``is_fragment`` on reachability: a found file in a strictly lower
    strongly connected component of the include graph than another found file.
    One pass over the condensation in topological order: linear in the graph.
    """
    members = condensed.graph["mapping"]
    has_found = {c: any(m in found for m in condensed.nodes[c]["members"]) for c in condensed}
    above: dict[int, bool] = {}
    for c in sorted(order, key=order.__getitem__):
        above[c] = any(above[p] or has_found[p] for p in condensed.pred[c])
    return {key for key in found if above[members[key]]}
