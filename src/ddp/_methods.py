"""The method-block machine of the client core (Meteor's ``_outstandingMethodBlocks``).

Calls are queued in blocks: consecutive non-wait calls share one block, every ``wait=True``
call has a block of its own. Only the first block is ever on the wire: the next one goes out
when each call of the first is finished. :class:`MethodQueue` keeps the blocks and each
call's record (:class:`Method`); the core (:mod:`ddp.protocol`) writes the frames, reports
the milestones and decides when calls may go out (:attr:`MethodQueue.held`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

__all__ = ["Block", "Method", "MethodQueue"]


class Block:
    """A group of calls sent together; a ``wait`` block holds exactly one."""

    __slots__ = ("methods", "wait")

    def __init__(self, wait: bool) -> None:
        self.wait = wait
        self.methods: dict[str, Method] = {}


class Method:
    """One call's record, from ``call()`` until both milestones are reported."""

    __slots__ = (
        "block",
        "frame",
        "has_result",
        "id",
        "login_token",
        "no_retry",
        "sent",
        "transmitted",
        "updated",
        "wait",
    )

    def __init__(
        self, method_id: str, frame: str, block: Block, no_retry: bool, login_token: str | None
    ) -> None:
        self.id = method_id
        self.frame = frame
        self.block = block
        self.wait = block.wait
        self.no_retry = no_retry
        # Set for the core's own resume login, which reports LoginResumed instead.
        self.login_token = login_token
        self.sent = False  # queued on the current transport
        self.transmitted = False  # handed to the driver on some transport
        self.has_result = False
        self.updated = False


class MethodQueue:
    """The blocks of calls not yet finished, by order and by id.

    Attributes:
        held: While true, no call goes out (a new session's plan is being laid, or a
            resumed session waits for its barrier).
        by_id: The calls by id (read only: :meth:`get` without a call, for the hot path).
        cancelled: Ids of calls cancelled after they were sent: their ``result`` is
            expected and ignored.
    """

    __slots__ = ("_blocks", "_unconfirmed", "by_id", "cancelled", "held")

    def __init__(self) -> None:
        self._blocks: deque[Block] = deque()
        self.by_id: dict[str, Method] = {}
        self._unconfirmed: list[Method] = []  # queued, not yet handed out by data_to_send
        self.cancelled: set[str] = set()
        self.held = False

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Method]:
        """The calls in the order they were made (a snapshot: safe to finish calls)."""
        return iter(list(self.by_id.values()))

    def get(self, method_id: str) -> Method | None:
        """The call with ``method_id``, if it is still tracked."""
        return self.by_id.get(method_id)

    def add(self, method_id: str, frame: str, wait: bool, no_retry: bool, may_send: bool) -> Method:
        """Queue a call at the end (in the last block, or a block of its own).

        With ``may_send`` (the core's session is established) the call is marked sent at
        once when it may go out now (in the first block, the queue not held): the core then
        writes its frame. The hot path of every call: one call does it all.
        """
        blocks = self._blocks
        if wait or not blocks or blocks[-1].wait:
            blocks.append(Block(wait))
        block = blocks[-1]
        method = Method(method_id, frame, block, no_retry, None)
        block.methods[method_id] = method  # what _track does, inline
        self.by_id[method_id] = method
        if may_send and not self.held and block is blocks[0]:
            method.sent = True  # what mark_sent does, inline
            self._unconfirmed.append(method)
        return method

    def add_login_first(self, method_id: str, frame: str, token: str) -> Method:
        """Queue the core's resume login ahead of everything, as a wait block."""
        block = Block(wait=True)
        self._blocks.appendleft(block)
        return self._track(Method(method_id, frame, block, False, token))

    def _track(self, method: Method) -> Method:
        method.block.methods[method.id] = method
        self.by_id[method.id] = method
        return method

    def sendable(self) -> list[Method]:
        """The first block's calls still to send (finished blocks ahead of it are dropped)."""
        blocks = self._blocks
        while blocks:
            block = blocks[0]
            if block.methods:
                return [m for m in block.methods.values() if not m.sent and not m.has_result]
            blocks.popleft()
        return []

    def mark_sent(self, method: Method) -> None:
        """``method``'s frame was queued on the current transport."""
        method.sent = True
        self._unconfirmed.append(method)

    def confirm(self) -> None:
        """The queued frames were handed to the driver: those calls were transmitted."""
        if self._unconfirmed:
            for method in self._unconfirmed:
                method.transmitted = True
            self._unconfirmed.clear()

    def withdraw(self, method: Method) -> bool:
        """Take ``method`` back if its frame is still queued; return whether it was."""
        if method in self._unconfirmed:
            self._unconfirmed.remove(method)
            return True
        return False

    def forget(self, method: Method) -> bool:
        """Stop tracking ``method``; return whether that left the next block to send.

        A block on the wire that this empties is dropped at once, so that a lone call's
        end has nothing more to do.
        """
        self.by_id.pop(method.id, None)
        block = method.block
        calls = block.methods
        calls.pop(method.id, None)
        if calls:
            return False
        blocks = self._blocks
        if blocks and block is blocks[0]:
            blocks.popleft()
            return bool(blocks)
        return False

    def transport_lost(self) -> None:
        """Nothing is on the wire any more."""
        for method in self.by_id.values():
            method.sent = False
        self._unconfirmed.clear()

    def unconfirmed_cleared(self) -> None:
        """Forget the queued frames (the outbox was emptied without sending them)."""
        self._unconfirmed.clear()

    def clear(self) -> None:
        """Forget every call and block."""
        self.by_id.clear()
        self._blocks.clear()
        self._unconfirmed.clear()
        self.cancelled.clear()
        self.held = False
