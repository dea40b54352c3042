"""Which pipelines are open and what each one reports where.

Every open document is compiled as the main file of a pipeline, with all open
documents as the overlay. As in ``hookpipe lint``, a file that another open
document includes is a fragment: its diagnostics are the ones its includers
report in it (an include fragment alone is no whole pipeline, and would only
add "no optimizer" noise), while a file opened alone reports on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hookpipe.compiler.context import Compilation
from hookpipe.diagnostics import Diagnostic
from hookpipe.dsl.incremental import ParseCache
from hookpipe.lsp.analysis import Analysis, analyse


@dataclass
class Project:
    """The analyses of the open documents, by resolved path."""

    analyses: dict[Path, Analysis] = field(default_factory=dict)
    #: The last analysis of each document whose files all parsed: names for completion while typing.
    last_parsed: dict[Path, Analysis] = field(default_factory=dict)
    cache: ParseCache = field(default_factory=ParseCache)

    def update(self, changed: Path, overlay: dict[Path, str]) -> list[Path]:
        """Re-analyse ``changed`` (if open) and every open pipeline that reads it; the roots redone."""
        roots = [r for r, a in self.analyses.items() if changed in a.diagnostics and r != changed]
        if changed in overlay:
            roots.insert(0, changed)
        for root in roots:
            self.reanalyse(root, overlay)
        return roots

    def reanalyse(self, root: Path, overlay: dict[Path, str]) -> Analysis | None:
        try:
            analysis = analyse(root, overlay, self.cache.parse)
        except (OSError, UnicodeDecodeError):
            self.forget(root)
            return None
        self.analyses[root] = analysis
        if analysis.parsed:
            self.last_parsed[root] = analysis
        return analysis

    def forget(self, root: Path) -> None:
        self.analyses.pop(root, None)
        self.last_parsed.pop(root, None)

    def fragment(self, path: Path) -> bool:
        """Included by another open pipeline that it does not include back."""
        own = self.analyses.get(path)
        return any(path in a.diagnostics and (own is None or r not in own.diagnostics)
                   for r, a in self.analyses.items() if r != path)

    def owners(self, path: Path) -> list[Analysis]:
        """The analyses whose findings are shown for ``path``: its includers, or its own."""
        return [a for r, a in self.analyses.items() if path in a.diagnostics and not self.fragment(r)]

    def for_features(self, path: Path) -> Analysis | None:
        """The analysis hover, navigation and rename use for ``path``: an includer's sees more names."""
        owners = self.owners(path)
        return owners[0] if owners else self.analyses.get(path)

    def diagnostics(self) -> dict[Path, list[tuple[Diagnostic, Compilation]]]:
        """What to publish for every file any open pipeline reads (empty lists clear old findings).

        Each finding comes with the compilation that made it, which its quick fixes read.
        """
        out: dict[Path, list[tuple[Diagnostic, Compilation]]] = {}
        for root, analysis in self.analyses.items():
            if self.fragment(root):
                continue
            for file, found in analysis.diagnostics.items():
                seen = out.setdefault(file, [])
                known = {d for d, _ in seen}
                seen.extend((d, analysis.ctx) for d in found if d not in known)
        for root in self.analyses:
            out.setdefault(root, [])
        return out
