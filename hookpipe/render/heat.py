"""Colouring the graph by a run's hook profile (``hookpipe render --profile FILE.json``).

Each attachment node is matched to the profile's rows of the same scope, phase
and hook (summed over its callbacks) and gets a fill from white to deep orange in
proportion to its total time relative to the slowest node (a linear scale: the
one that dominates is the one to look at), and a label line with its total time,
share of the training loop and mean per firing. Nodes the profile has no time for
(never fired, or not in the profile) stay white and say so.
"""

from __future__ import annotations

from dataclasses import replace

from hookpipe.profiling import Profile, format_duration
from hookpipe.render.model import GraphModel, GraphNode, PhaseCluster, ScopeCluster

__all__ = ["apply_profile", "heat_colour"]

#: The two ends of the fill scale (ColorBrewer "Oranges").
COOL = (0xFF, 0xF5, 0xEB)
HOT = (0xF1, 0x69, 0x13)


def heat_colour(heat: float) -> str:
    """The fill for ``heat`` in [0, 1].

    Example:
        >>> heat_colour(0.0), heat_colour(1.0)
        ('#fff5eb', '#f16913')
    """
    h = min(1.0, max(0.0, heat))
    return "#" + "".join(f"{round(c + (d - c) * h):02x}" for c, d in zip(COOL, HOT))


def apply_profile(model: GraphModel, profile: Profile) -> list[str]:
    """Annotate ``model``'s nodes with ``profile``'s times in place; returns notes for the user.

    Matching is by scope, phase and hook name, not by the plan's hash: a profile of
    a run with ``--set`` overrides (which change the hash) still applies.
    """
    totals: dict[tuple[str, str, str], tuple[int, float]] = {}
    for e in profile.entries:
        calls, seconds = totals.get((e.scope, e.phase, e.hook), (0, 0.0))
        totals[(e.scope, e.phase, e.hook)] = (calls + e.calls, seconds + e.total_s)
    slowest = max((t for _, t in totals.values()), default=0.0)
    unmatched = set(totals)
    missing: list[str] = []
    for phase in _phases(model.root):
        for i, node in enumerate(phase.nodes):
            key = (phase.scope, phase.phase, node.hook)
            unmatched.discard(key)
            calls, seconds = totals.get(key, (0, 0.0))
            if key not in totals:
                missing.append(f"{node.hook} in {phase.scope}.{phase.phase}")
            if calls == 0:
                phase.nodes[i] = replace(node, timing="not fired" if key in totals else "not profiled", heat=0.0)
                continue
            timing = (f"{format_duration(seconds)} ({100 * profile.share(seconds):.1f}%), "
                      f"{calls}x {format_duration(seconds / calls)}")
            phase.nodes[i] = replace(node, timing=timing, heat=seconds / slowest if slowest > 0 else 0.0)
    model.title += f"  [profile: {profile.steps} steps, {format_duration(profile.wall_s)}]"
    notes = []
    if missing:
        names = ", ".join(sorted(set(missing)))
        notes.append(f"hooks not in the profile (drawn uncoloured): {names}")
    if unmatched:
        names = ", ".join(f"{h} in {s}.{p}" for s, p, h in sorted(unmatched))
        notes.append(f"profiled entries not in the drawing: {names}")
    return notes


def _phases(cluster: ScopeCluster) -> list[PhaseCluster]:
    found = [cluster.before]
    for child in cluster.children:
        found += _phases(child)
    return found + [cluster.after]


def node_fill(node: GraphNode) -> str | None:
    """The node's fill colour when a profile was applied (None: drawn as usual)."""
    return heat_colour(node.heat) if node.heat is not None else None
