"""Bounded, per-xApp outgoing queues of RIC-lite.

A slow or dead xApp must never slow the E2 nodes down or grow memory: each
xApp endpoint gets an :class:`Outbox` with a bounded queue drained by one
task; when the queue is full the message is dropped and counted. An outbox
whose sends keep failing for ``give_up_after`` seconds reports the endpoint
as gone (the subscription manager then forgets its subscriptions).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

from xtrust.log import get_logger
from xtrust.ric.rmr import Endpoint, Message, RMRError

__all__ = ["Outbox", "Outboxes"]

log = get_logger("ric.platform.outbox")


class Outbox:
    def __init__(
        self,
        ep: Endpoint,
        target: str,
        limit: int,
        on_gone: Callable[[str], None],
        give_up_after: float = 10.0,
    ):
        self.ep = ep
        self.target = target
        self.limit = limit
        self.on_gone = on_gone
        self.give_up_after = give_up_after
        self.queue: deque[Message] = deque()
        self.wake = asyncio.Event()
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self.failing_since: float | None = None
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"outbox {target}")

    def put(self, msg: Message) -> bool:
        if len(self.queue) >= self.limit:
            self.dropped += 1
            return False
        self.queue.append(msg)
        self.wake.set()
        return True

    async def _run(self) -> None:
        ep, queue = self.ep, self.queue
        while True:
            await self.wake.wait()
            self.wake.clear()
            while queue:
                msg = queue.popleft()
                try:
                    await ep.send(msg, to=self.target, wait=0.5)
                except RMRError as exc:
                    self.failed += 1
                    now = time.monotonic()
                    if self.failing_since is None:
                        self.failing_since = now
                        log.warning("cannot send to xApp %s: %s", self.target, exc)
                    elif now - self.failing_since > self.give_up_after:
                        log.warning(
                            "xApp %s unreachable for %.0f s: forgetting it",
                            self.target,
                            now - self.failing_since,
                        )
                        queue.clear()
                        self.on_gone(self.target)
                        return
                    continue
                self.failing_since = None
                self.sent += 1

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class Outboxes:
    """One :class:`Outbox` per target endpoint, created on first use."""

    def __init__(self, ep: Endpoint, limit: int, on_gone: Callable[[str], None]):
        self.ep = ep
        self.limit = limit
        self.on_gone = on_gone
        self.boxes: dict[str, Outbox] = {}

    def put(self, target: str, msg: Message) -> bool:
        box = self.boxes.get(target)
        if box is None or box.task.done():
            box = self.boxes[target] = Outbox(self.ep, target, self.limit, self._gone)
        return box.put(msg)

    def _gone(self, target: str) -> None:
        self.boxes.pop(target, None)
        self.on_gone(target)

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            t: {"sent": b.sent, "dropped": b.dropped, "failed": b.failed, "queued": len(b.queue)}
            for t, b in self.boxes.items()
        }

    async def close(self) -> None:
        for box in list(self.boxes.values()):
            await box.close()
        self.boxes.clear()
