"""What HP105's pass keeps: each node's reach among the writers, and the writers by resource and hook.

Writers get bits in the order the reverse topological pass meets them, so a
node reaches only lower bits. A reach is ``(k, rest)``: every writer below bit
``k``, and the bits of ``rest``. In one long block each attachment reaches every
writer after it, so its reach is ``(k, 0)`` and is built in constant time; a
plain bitset would cost its length per attachment (quadratic over the block).

The groups (the writers of a resource, of a hook, of a resource by one hook) are
lists of bits, ascending, so counting the members below ``k`` is a bisection;
a group becomes a bitset only when a pair has to be checked bit by bit, and that
bitset is dropped once the group's last writer was met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

#: ``(k, rest)``: every writer below bit ``k``, and those in ``rest``.
Reach = tuple[int, int]
#: ``("r", resource)``, ``("h", hook)`` or ``("hr", hook, resource)``.
Key = tuple[str, ...]

_NONE: list[int] = []


def reach_of(successors: Iterable[Reach], groups: Groups) -> Reach:
    """What a node reaches through its successors (its own bit not included)."""
    found = list(successors)
    k = max((s[0] for s in found), default=0)
    rest = 0
    for _, more in found:
        if more.bit_length() > k:  # bits below k are there already
            rest |= more
            groups.work += rest.bit_length()
    return k, rest


def with_own(reach: Reach, own: int, groups: Groups) -> Reach:
    """``reach`` and the writer at bit ``own`` (above every bit of ``reach``)."""
    k, rest = reach
    if own == k:
        return k + 1, rest
    groups.work += own
    return k, rest | (1 << own)


@dataclass
class Groups:
    """Writers by resource, by hook, and by hook and resource: bit lists, bitsets on demand."""

    members: dict[Key, list[int]] = field(default_factory=dict)
    left: dict[Key, int] = field(default_factory=dict)  # writers of the group not yet met
    masks: dict[Key, tuple[int, int]] = field(default_factory=dict)  # key -> (bitset, how many members in it)
    work: int = 0  # bits of bitset work so far
    live: int = 0  # bits of bitsets held now (reaches included, counted by the pass)

    @staticmethod
    def keys(written: Iterable[str], hook: str) -> list[Key]:
        """The groups of a writer of ``written`` attached as ``hook``."""
        resources = sorted(set(written))
        return [("h", hook), *(("r", r) for r in resources), *(("hr", hook, r) for r in resources)]

    def expect(self, keys: list[Key]) -> None:
        """Count a writer of the phase before the pass, so its groups' bitsets can be dropped after their last."""
        for key in keys:
            self.left[key] = self.left.get(key, 0) + 1

    def add(self, bit: int, keys: list[Key]) -> None:
        for key in keys:
            self.members.setdefault(key, []).append(bit)
            self.left[key] -= 1
            if not self.left[key] and key in self.masks:
                self.live -= self.masks.pop(key)[0].bit_length()

    def bits(self, key: Key) -> list[int]:
        return self.members.get(key, _NONE)

    def mask(self, key: Key) -> int:
        """The group's members so far as a bitset, built from the bits added since the last call."""
        members = self.members.get(key, _NONE)
        mask, done = self.masks.get(key, (0, 0))
        if done < len(members):
            fresh = bytearray(members[-1] // 8 + 1)
            for bit in members[done:]:
                fresh[bit >> 3] |= 1 << (bit & 7)
            before = mask.bit_length()
            mask |= int.from_bytes(fresh, "little")
            self.work += 2 * mask.bit_length()
            if self.left.get(key, 0) > 0:  # still needed: kept, and counted as held
                self.masks[key] = (mask, len(members))
                self.live += mask.bit_length() - before
        return mask
