"""The graph model as a Mermaid flowchart, so it shows inside Markdown on GitHub.

Same picture as the DOT output (see ``hookpipe.render.dot``), in Mermaid's terms:
scopes and phases are nested ``subgraph``s, written order is a solid arrow,
``order``/``require`` a thick arrow, an effect rule a dotted arrow labelled with
its resources, and ``linkStyle`` colours them (red for the edges a cycle error blames). No
binary is needed to produce it.
"""

from __future__ import annotations

from hookpipe.dsl.visitor import NodeVisitor
from hookpipe.render.heat import node_fill
from hookpipe.render.model import GraphEdge, GraphModel, GraphNode, PhaseCluster, ScopeCluster

ARROWS = {"written": "-->", "order": "==>", "require": "==>", "effect": "-.->", "bracket": "-->", "plan": "-->"}
COLORS = {"written": "#333333", "order": "#1f5fbf", "require": "#7b2fbf", "effect": "#2e8b57", "bracket": "#b8860b",
          "plan": "#999999"}
RED = "#d62728"
#: ``render --diff`` (see hookpipe.render.dot): added green, removed dashed red, moved orange, a changed
#: frequency blue, changed arguments purple.
CHANGE_CLASSES = {
    "added": "fill:#e5f5e0,stroke:#2ca02c,stroke-width:3px",
    "removed": f"fill:#fdecea,stroke:{RED},stroke-width:2px,stroke-dasharray:6 4",
    "moved": "fill:#fff0dd,stroke:#ff7f0e,stroke-width:3px",
    "retimed": "fill:#e3eefa,stroke:#1f77b4,stroke-width:3px",
    "changed": "fill:#efe7f7,stroke:#9467bd,stroke-width:3px",
}
CHANGE_EDGES = {"added": "#2ca02c", "removed": RED, "unchanged": "#a0a0a0"}


def to_mermaid(model: GraphModel) -> str:
    """Mermaid source for ``model``; the same model always gives the same text."""
    writer = MermaidWriter()
    writer.lines += [f"%% {_text(model.title)}: drawn by hookpipe render",
                     *(f"%% note: {_comment(note)}" for note in model.notes), "flowchart TB"]
    writer.visit(model.root, 1)
    for index, edge in enumerate(model.edges):
        writer.visit(edge, index)
    writer.lines += [
        "    classDef empty fill:none,stroke:none,color:#999999",
        f"    classDef error fill:#fde8e8,stroke:{RED},stroke-width:2px",
        *(f"    classDef {name} {style}" for name, style in CHANGE_CLASSES.items()),
    ]
    return "\n".join(writer.lines) + "\n"


class MermaidWriter(NodeVisitor):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def _add(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def visit_ScopeCluster(self, node: ScopeCluster, depth: int) -> None:
        self._add(depth, f'subgraph s_{_ident(node.name)}["{node.name}"]')
        self._add(depth + 1, "direction TB")
        self.visit(node.before, depth + 1)
        for child in node.children:
            self.visit(child, depth + 1)
        self.visit(node.after, depth + 1)
        self._add(depth, "end")

    def visit_PhaseCluster(self, node: PhaseCluster, depth: int) -> None:
        self._add(depth, f'subgraph s_{_ident(node.scope)}_{node.phase}["{node.phase}"]')
        if not node.nodes:
            self._add(depth + 1, f'empty_{_ident(node.scope)}_{node.phase}["(nothing)"]:::empty')
        for attachment in node.nodes:
            self.visit(attachment, depth + 1)
        self._add(depth, "end")

    def visit_GraphNode(self, node: GraphNode, depth: int) -> None:
        parts = [f"<b>{_text(node.hook)}</b>", _text(node.type)]
        if node.frequency:
            parts.append(_text(node.frequency))
        if node.main_only:
            parts.append("on main")
        if node.timing:
            parts.append(_text(node.timing))
        parts += [_text(line) for line in node.declaration]
        suffix = ":::error" if node.error else f":::{node.change}" if node.change in CHANGE_CLASSES else ""
        self._add(depth, f'a{node.id}["{"<br/>".join(parts)}"]{suffix}')
        fill = node_fill(node)
        if fill and not node.error:
            self._add(depth, f"style a{node.id} fill:{fill}")

    def visit_GraphEdge(self, edge: GraphEdge, index: int) -> None:
        arrow = ARROWS[edge.kind]
        label = f'|"{_text(edge.label)}"|' if edge.label else ""
        self._add(1, f"a{edge.source} {arrow}{label} a{edge.target}")
        color = RED if edge.bad else CHANGE_EDGES.get(edge.change, COLORS[edge.kind])
        width = "3px" if edge.bad or edge.change in ("added", "removed") else "1.5px"
        dash = ",stroke-dasharray:6 4" if edge.change == "removed" else ""
        self._add(1, f"linkStyle {index} stroke:{color},stroke-width:{width}{dash}")


def _text(value: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return (value.replace("#", "#35;").replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;").replace("\n", " "))


def _comment(value: str) -> str:
    """Text for a ``%%`` comment line: read as written, so only line breaks are replaced."""
    return " ".join(value.splitlines())


def _ident(scope: str) -> str:
    """A scope's name as a Mermaid id (``validation[evaluate].batch`` -> ``validation_evaluate_batch``)."""
    return scope.replace("[", "_").replace("]", "").replace(".", "_")
