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

__all__ = ["Block", "Method", "MethodQueue", "WaitBlock"]


class Block(dict[str, "Method"]):
    """A group of calls sent together: their records by id.

    A dict of its own kind, so that making one (every burst of calls does) runs no Python
    code; :class:`WaitBlock` is the block of one ``wait=True`` call.
    """

    __slots__ = ()
    wait = False


class WaitBlock(Block):
    """The block of exactly one ``wait=True`` call."""

    __slots__ = ()
    wait = True


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
        # Handed to the driver on a transport since lost (see MethodQueue.transport_lost).
        self.transmitted = False
        self.has_result = False
        self.updated = False


class MethodQueue:
    """The blocks of calls not yet finished, by order and by id.

    Attributes:
        held: While true, no call goes out (a new session's plan is being laid, or a
            resumed session waits for its barrier).
        by_id: The calls by id (read only: :meth:`get` without a call, for the hot path).
        unconfirmed: The calls whose frames are queued but not yet handed out by
            ``data_to_send`` (which empties it: those calls are then on the wire).
        cancelled: Ids of calls cancelled after they were sent: their ``result`` is
            expected and ignored.
    """

    __slots__ = ("_blocks", "by_id", "cancelled", "held", "unconfirmed")

    def __init__(self) -> None:
        self._blocks: deque[Block] = deque()
        self.by_id: dict[str, Method] = {}
        self.unconfirmed: list[Method] = []
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
        if wait:
            block: Block = WaitBlock()
            blocks.append(block)
        elif not blocks or (block := blocks[-1]).wait:
            block = Block()
            blocks.append(block)
        method = Method(method_id, frame, block, no_retry, None)
        block[method_id] = method  # what _track does, inline
        self.by_id[method_id] = method
        if may_send and not self.held and block is blocks[0]:
            method.sent = True  # what mark_sent does, inline
            self.unconfirmed.append(method)
        return method

    def add_login_first(self, method_id: str, frame: str, token: str) -> Method:
        """Queue the core's resume login ahead of everything, as a wait block."""
        block = WaitBlock()
        self._blocks.appendleft(block)
        return self._track(Method(method_id, frame, block, False, token))

    def _track(self, method: Method) -> Method:
        method.block[method.id] = method
        self.by_id[method.id] = method
        return method

    def sendable(self) -> list[Method]:
        """The first block's calls still to send (finished blocks ahead of it are dropped)."""
        blocks = self._blocks
        while blocks:
            block = blocks[0]
            if block:
                return [m for m in block.values() if not m.sent and not m.has_result]
            blocks.popleft()
        return []

    def mark_sent(self, method: Method) -> None:
        """``method``'s frame was queued on the current transport."""
        method.sent = True
        self.unconfirmed.append(method)

    def withdraw(self, method: Method) -> bool:
        """Take ``method`` back if its frame is still queued; return whether it was."""
        if method in self.unconfirmed:
            self.unconfirmed.remove(method)
            return True
        return False

    def forget(self, method: Method) -> bool:
        """Stop tracking ``method``; return whether that left the next block to send.

        A block on the wire that this empties is dropped at once, so that a lone call's
        end has nothing more to do.
        """
        self.by_id.pop(method.id, None)
        block = method.block
        block.pop(method.id, None)
        if block:
            return False
        blocks = self._blocks
        if blocks and block is blocks[0]:
            blocks.popleft()
            return bool(blocks)
        return False

    def transport_lost(self) -> None:
        """Nothing is on the wire any more: the calls handed out were *transmitted*.

        Only here is ``transmitted`` set (``data_to_send`` merely empties
        :attr:`unconfirmed`): it is read only once ``sent`` is false again.
        """
        queued = set(self.unconfirmed)
        for method in self.by_id.values():
            if method.sent:
                method.sent = False
                if method not in queued:
                    method.transmitted = True
        self.unconfirmed.clear()

    def unconfirmed_cleared(self) -> None:
        """Forget the queued frames (the outbox was emptied without sending them)."""
        for method in self.unconfirmed:
            method.sent = False
        self.unconfirmed.clear()

    def clear(self) -> None:
        """Forget every call and block."""
        self.by_id.clear()
        self._blocks.clear()
        self.unconfirmed.clear()
        self.cancelled.clear()
        self.held = False
