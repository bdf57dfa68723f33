"""A sequence of distinct ids that finds an id's position without scanning.

Ordered observers (``added_at``, ``moved_to``...) must tell the user each document's index.
A plain list answers ``index(id)`` by scanning, O(n): 3.5 ms a change at 100k documents, and
quadratic ingest under such an observer. :class:`PositionList` keeps the ids in blocks of a
few hundred, knows each id's block, and sums block sizes in a Fenwick tree, so ``index``,
``insert`` and ``delete`` cost O(log(n / B) + B) with B the block size: the ``B`` part is
a C-speed ``list.index``/``insert`` within one block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

__all__ = ["PositionList"]

_LOAD: Final = 256  # a block splits at twice this size


class PositionList:
    """A list of distinct strings with fast ``index``, ``insert`` and ``delete`` by position."""

    __slots__ = ("_block_of", "_blocks", "_len", "_number", "_top", "_tree")

    def __init__(self) -> None:
        """Create an empty list."""
        self._blocks: list[list[str]] = []
        self._block_of: dict[str, list[str]] = {}
        self._number: dict[int, int] = {}  # id(block) -> its index in _blocks
        self._tree: list[int] = [0]  # Fenwick tree of block sizes, 1-based
        self._top = 0  # highest power of two <= len(_blocks)
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[str]:
        for block in self._blocks:
            yield from block

    def index(self, item: str) -> int:
        """Return the position of ``item``.

        Raises:
            KeyError: If ``item`` is not in the list.
        """
        block = self._block_of[item]
        return self._prefix(self._number[id(block)]) + block.index(item)

    def insert(self, position: int, item: str) -> None:
        """Insert ``item`` (not yet present) before ``position`` (``len(self)``: at the end)."""
        blocks = self._blocks
        if not blocks:
            block = [item]
            blocks.append(block)
            self._block_of[item] = block
            self._len = 1
            self._rebuild()
            return
        if position >= self._len:
            number, offset = len(blocks) - 1, len(blocks[-1])
        else:
            number, offset = self._locate(max(position, 0))
        block = blocks[number]
        block.insert(offset, item)
        self._block_of[item] = block
        self._len += 1
        if len(block) > 2 * _LOAD:
            half = block[_LOAD:]
            del block[_LOAD:]
            blocks.insert(number + 1, half)
            block_of = self._block_of
            for moved in half:
                block_of[moved] = half
            self._rebuild()
        else:
            self._add(number, 1)

    def delete(self, position: int) -> str:
        """Remove and return the item at ``position`` (``0 <= position < len(self)``)."""
        number, offset = self._locate(position)
        block = self._blocks[number]
        item = block.pop(offset)
        del self._block_of[item]
        self._len -= 1
        if block:
            self._add(number, -1)
        else:
            del self._blocks[number]
            self._rebuild()
        return item

    # -- the Fenwick tree -----------------------------------------------------------------------

    def _rebuild(self) -> None:
        """Renumber the blocks and rebuild the tree (after a split or a removal: rare)."""
        blocks = self._blocks
        count = len(blocks)
        self._number = {id(block): i for i, block in enumerate(blocks)}
        tree = [0] * (count + 1)
        for k in range(1, count + 1):
            tree[k] += len(blocks[k - 1])
            parent = k + (k & -k)
            if parent <= count:
                tree[parent] += tree[k]
        self._tree = tree
        self._top = 1 << (count.bit_length() - 1) if count else 0

    def _add(self, number: int, delta: int) -> None:
        tree = self._tree
        count = len(tree) - 1
        k = number + 1
        while k <= count:
            tree[k] += delta
            k += k & -k

    def _prefix(self, number: int) -> int:
        """How many items the blocks before block ``number`` hold."""
        tree = self._tree
        total = 0
        while number > 0:
            total += tree[number]
            number &= number - 1
        return total

    def _locate(self, position: int) -> tuple[int, int]:
        """The block holding ``position`` and the offset within it."""
        tree = self._tree
        count = len(tree) - 1
        number, rest, step = 0, position, self._top
        while step:
            nxt = number + step
            if nxt <= count and tree[nxt] <= rest:
                number = nxt
                rest -= tree[nxt]
            step >>= 1
        return number, rest
