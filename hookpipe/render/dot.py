"""The graph model as Graphviz DOT text, built with the ``graphviz`` package.

Layout choices, and why:

* top to bottom in execution order: a scope box holds its ``before`` phase, its
  nested scopes, then its ``after`` phase, tied in that order by invisible edges;
  an empty phase still shows as a box with ``(nothing)`` so both phases are visible;
* one node per attachment (``a<declaration index>``), labelled with the hook name,
  its type, its frequency and ``on main``;
* one edge per kind of origin, so parallel edges say *why* one hook runs before
  another: solid black = written order, dashed blue = ``order``, dashed purple =
  ``require``, dotted green = effect rule (labelled with the resources), grey =
  lowered order (when drawn from a Plan alone); red = an edge a cycle error blames.

``graphviz`` is imported inside ``to_dot`` so commands that never draw
(``check``, ``lint``) do not pay for it.
"""

from __future__ import annotations

from html import escape
from typing import Any

from hookpipe.dsl.visitor import NodeVisitor
from hookpipe.render.heat import node_fill
from hookpipe.render.model import GraphEdge, GraphModel, GraphNode, PhaseCluster, ScopeCluster

FONT = "Helvetica"
RED = "#d62728"
EDGE_STYLE: dict[str, dict[str, str]] = {
    "written": {"color": "#333333", "style": "solid"},
    "order": {"color": "#1f5fbf", "fontcolor": "#1f5fbf", "style": "dashed"},
    "require": {"color": "#7b2fbf", "fontcolor": "#7b2fbf", "style": "dashed", "penwidth": "2"},
    "effect": {"color": "#2e8b57", "fontcolor": "#2e8b57", "style": "dotted", "penwidth": "1.5"},
    "bracket": {"color": "#b8860b", "fontcolor": "#b8860b", "style": "solid", "penwidth": "1.5"},
    "plan": {"color": "#999999", "style": "solid"},
}
MAX_TIES = 64
#: Above this many attachments the layout is tuned for speed: edge labels become
#: ``xlabel``s (placed after layout; as labels they are virtual nodes that made a
#: 1,000-attachment graph take 45 s in dot), and crossing minimisation is capped.
LARGE_GRAPH = 150
LARGE_ATTRS = {"mclimit": "0.1", "nslimit": "1", "nslimit1": "1"}
PHASE_FILL = {"before": "#eef4fb", "after": "#fbf3e8"}
LEGEND = (
    '<font point-size="10">solid: written order    '
    '<font color="#1f5fbf">dashed: order</font>    '
    '<font color="#7b2fbf">bold dashed: require</font>    '
    '<font color="#2e8b57">dotted: effect (resource)</font>    '
    f'<font color="{RED}">red: ordering cycle</font></font>'
)

#: ``render --diff``: what changed is coloured, what did not is grey (the line styles
#: still tell written order, ``order`` and effects apart).
GREEN = "#2ca02c"
ORANGE = "#ff7f0e"
BLUE = "#1f77b4"
PURPLE = "#9467bd"
UNCHANGED_EDGE = "#a0a0a0"
CHANGE_NODE: dict[str, dict[str, str]] = {
    "added": {"color": GREEN, "penwidth": "2.5", "fillcolor": "#e5f5e0"},
    "removed": {"color": RED, "penwidth": "2", "style": "rounded,dashed,filled", "fillcolor": "#fdecea",
                "fontcolor": "#8c1c1c"},
    "moved": {"color": ORANGE, "penwidth": "2.5", "fillcolor": "#fff0dd"},
    "retimed": {"color": BLUE, "penwidth": "2.5", "fillcolor": "#e3eefa"},
    "changed": {"color": PURPLE, "penwidth": "2.5", "fillcolor": "#efe7f7"},
}
CHANGE_EDGE: dict[str, dict[str, str]] = {
    "added": {"color": GREEN, "fontcolor": GREEN, "penwidth": "2.5"},
    "removed": {"color": RED, "fontcolor": RED, "style": "dashed", "penwidth": "2"},
    "unchanged": {"color": UNCHANGED_EDGE, "fontcolor": "#777777"},
}
DIFF_LEGEND = (
    '<font point-size="10"><font color="#2ca02c">green: added</font>    '
    f'<font color="{RED}">dashed red: removed</font>    '
    '<font color="#ff7f0e">orange: moved</font>    '
    '<font color="#1f77b4">blue: frequency changed</font>    '
    f'<font color="{PURPLE}">purple: arguments (or type, effects) changed</font>    '
    '<font color="#777777">grey: unchanged (solid: written order, dashed: order, dotted: effect)</font></font>'
)


def to_dot(model: GraphModel) -> str:
    """DOT source for ``model``; the same model always gives the same text."""
    import graphviz  # lazy: only drawing needs it

    graph = graphviz.Digraph(
        "hookpipe",
        graph_attr={
            "rankdir": "TB",
            "fontname": FONT,
            "labelloc": "t",
            "label": f"<<b>{escape(model.title)}</b><br/>{DIFF_LEGEND if model.diff else LEGEND}{_notes(model)}>",
            "nodesep": "0.3",
            "ranksep": "0.35",
        },
        node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "white", "fontname": FONT,
                   "fontsize": "12"},
        edge_attr={"fontname": FONT, "fontsize": "10", "arrowsize": "0.7"},
    )
    large = model.node_count > LARGE_GRAPH
    if large:
        graph.attr(**LARGE_ATTRS)
    writer = DotWriter(graphviz, model, label_attr="xlabel" if large else "label")
    writer.visit(model.root, graph)
    for edge in model.edges:
        writer.visit(edge, graph)
    writer.tie(model.root, graph)
    return str(graph.source)


class DotWriter(NodeVisitor):
    """Adds clusters, nodes and edges of the model to a ``graphviz.Digraph``."""

    def __init__(self, graphviz: Any, model: GraphModel, label_attr: str = "label") -> None:
        self.graphviz = graphviz
        self.label_attr = label_attr
        self.outgoing: set[int] = {e.source for e in model.edges}
        self.incoming: set[int] = {e.target for e in model.edges}

    def visit_ScopeCluster(self, node: ScopeCluster, parent: Any) -> None:
        box = self.graphviz.Digraph(f"cluster_{node.name}")
        box.attr(label=f"<<b>{node.name}</b>>", style="rounded", color="#777777", fontname=FONT,
                 fontsize="13", labeljust="l")
        self.visit(node.before, box)
        for child in node.children:
            self.visit(child, box)
        self.visit(node.after, box)
        parent.subgraph(box)

    def visit_PhaseCluster(self, node: PhaseCluster, parent: Any) -> None:
        box = self.graphviz.Digraph(f"cluster_{node.scope}_{node.phase}")
        box.attr(label=node.phase, style="rounded,filled", color="#bbbbbb", fillcolor=PHASE_FILL[node.phase],
                 fontname=FONT, fontsize="11", labeljust="l")
        if not node.nodes:
            box.node(_empty(node), label="(nothing)", shape="plaintext", style="", fontcolor="#999999",
                     fontsize="10")
        for attachment in node.nodes:
            self.visit(attachment, box)
        parent.subgraph(box)

    def visit_GraphNode(self, node: GraphNode, parent: Any) -> None:
        lines = [f"<b>{escape(node.hook)}</b>", f'<font point-size="10" color="#555555">{escape(node.type)}</font>']
        if node.frequency:
            lines.append(f'<font point-size="10">{escape(node.frequency)}</font>')
        if node.main_only:
            lines.append('<font point-size="10">on main</font>')
        if node.timing:
            lines.append(f'<font point-size="10"><b>{escape(node.timing)}</b></font>')
        lines += [f'<font point-size="10" color="{PURPLE}">{escape(line)}</font>' for line in node.declaration]
        fill = node_fill(node)
        attrs = {"fillcolor": fill} if fill else {}
        attrs.update(CHANGE_NODE.get(node.change, {}))
        if node.error:
            attrs = {"color": RED, "penwidth": "2", "fillcolor": "#fde8e8"}
        parent.node(f"a{node.id}", label="<" + "<br/>".join(lines) + ">", **attrs)

    def visit_GraphEdge(self, edge: GraphEdge, parent: Any) -> None:
        attrs = dict(EDGE_STYLE[edge.kind])
        if edge.label:
            attrs[self.label_attr] = f" {edge.label} "
        attrs.update(CHANGE_EDGE.get(edge.change, {}))
        if edge.bad:
            attrs.update(color=RED, fontcolor=RED, penwidth="2.5")
        parent.edge(f"a{edge.source}", f"a{edge.target}", **attrs)

    # --- invisible edges that stack before / nested scopes / after top to bottom ----------

    def tie(self, scope: ScopeCluster, graph: Any) -> None:
        """Invisible edges: before's last nodes -> first nested scope -> ... -> after's first nodes."""
        stages: list[tuple[list[str], list[str]]] = [(self._tops(scope.before), self._bottoms(scope.before))]
        for child in scope.children:
            stages.append((self._tops(child.before), self._bottoms(child.after)))
            self.tie(child, graph)
        stages.append((self._tops(scope.after), self._bottoms(scope.after)))
        for (_, ends), (starts, _) in zip(stages, stages[1:]):
            pairs = [(u, v) for u in ends for v in starts]
            if len(pairs) > MAX_TIES:  # keep it linear for very large phases
                pairs = [(u, starts[0]) for u in ends] + [(ends[0], v) for v in starts[1:]]
            for u, v in pairs:
                graph.edge(u, v, style="invis")

    def _tops(self, phase: PhaseCluster) -> list[str]:
        if not phase.nodes:
            return [_empty(phase)]
        return [f"a{n.id}" for n in phase.nodes if n.id not in self.incoming] or [f"a{phase.nodes[0].id}"]

    def _bottoms(self, phase: PhaseCluster) -> list[str]:
        if not phase.nodes:
            return [_empty(phase)]
        return [f"a{n.id}" for n in phase.nodes if n.id not in self.outgoing] or [f"a{phase.nodes[-1].id}"]


def _notes(model: GraphModel) -> str:
    """The model's notes, one line each under the legend (``render --diff``: what is not drawn)."""
    return "".join(f'<br/><font point-size="10" color="#8c1c1c">{escape(note)}</font>' for note in model.notes)


def _empty(phase: PhaseCluster) -> str:
    return f"empty_{phase.scope}_{phase.phase}"
