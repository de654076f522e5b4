"""A1-P v2: push risk thresholds and quarantine lists to the near-RT RIC.

Policy type 20100 ``xtrust-risk-v1`` (JSON schema below) carries the PDP's
risk threshold and the subjects to quarantine (risk at or above the threshold,
suspended/revoked on the ledger, or quarantined by hand); the segmentation
xApp subscribes to it. :class:`A1Pusher` creates the type if the RIC lacks it
(``PUT /A1-P/v2/policytypes/20100``) and PUTs the instance to
``/A1-P/v2/policytypes/20100/policies/{policy_id}`` whenever it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from xtrust.errors import ExternalToolError
from xtrust.log import get_logger

from .pdp import Pdp

__all__ = ["POLICY_TYPE", "POLICY_TYPE_ID", "A1Pusher", "risk_policy"]

log = get_logger("rapps.policy.a1")

POLICY_TYPE_ID = 20100
POLICY_TYPE: dict[str, Any] = {
    "name": "xtrust-risk-v1",
    "description": "XTRUST risk engine: risk threshold and subjects to quarantine",
    "policy_type_id": POLICY_TYPE_ID,
    "create_schema": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "xtrust-risk-v1",
        "type": "object",
        "properties": {
            "risk_threshold": {"type": "integer", "minimum": 0, "maximum": 100},
            "quarantine": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
            },
            "generated_at": {"type": "string"},
            "source": {"type": "string"},
        },
        "required": ["risk_threshold", "quarantine"],
        "additionalProperties": False,
    },
}


def risk_policy(pdp: Pdp, now: float | None = None) -> dict[str, Any]:
    """The xtrust-risk-v1 policy instance for the PDP's current state."""
    return {
        "risk_threshold": pdp.threshold,
        "quarantine": pdp.quarantine_list(now),
        "source": "xtrust-policy",
    }


class A1Pusher:
    def __init__(
        self,
        base_url: str,
        *,
        policy_id: str = "xtrust-risk",
        type_id: int = POLICY_TYPE_ID,
        timeout: float = 5.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.policy_id = policy_id
        self.type_id = type_id
        self.timeout = timeout
        self.last_pushed: dict[str, Any] | None = None
        self.last_error: str | None = None
        self.pushes = 0
        self._type_ok = False
        self._task: asyncio.Task[None] | None = None

    @property
    def type_url(self) -> str:
        return f"{self.base_url}/A1-P/v2/policytypes/{self.type_id}"

    @property
    def policy_url(self) -> str:
        return f"{self.type_url}/policies/{self.policy_id}"

    async def ensure_type(self, session: aiohttp.ClientSession) -> None:
        async with session.get(self.type_url) as resp:
            if resp.status == 200:
                self._type_ok = True
                return
        body = dict(POLICY_TYPE, policy_type_id=self.type_id)
        async with session.put(self.type_url, json=body) as resp:
            if resp.status not in (200, 201):
                text = " ".join((await resp.text()).split())[:200]
                raise ExternalToolError(
                    f"creating policy type {self.type_id} failed: HTTP {resp.status} {text}",
                    tool="a1",
                )
        self._type_ok = True

    async def push(self, policy: dict[str, Any], *, force: bool = False) -> bool:
        """PUT the policy instance; returns False when it was unchanged and not forced."""
        body = {k: v for k, v in policy.items() if k != "generated_at"}
        if not force and body == self.last_pushed:
            return False
        payload = dict(body, generated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as session:
                if not self._type_ok:
                    await self.ensure_type(session)
                async with session.put(self.policy_url, json=payload) as resp:
                    if resp.status not in (200, 201):
                        text = " ".join((await resp.text()).split())[:200]
                        raise ExternalToolError(
                            f"PUT {self.policy_url}: HTTP {resp.status} {text}", tool="a1"
                        )
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.last_error = str(exc) or type(exc).__name__
            raise ExternalToolError(f"{self.base_url}: {self.last_error}", tool="a1") from None
        self.last_pushed = body
        self.last_error = None
        self.pushes += 1
        log.info("A1 policy %s pushed: %s", self.policy_id, body)
        return True

    async def push_pdp(self, pdp: Pdp, *, force: bool = False) -> bool:
        return await self.push(risk_policy(pdp), force=force)

    async def _run(self, pdp: Pdp, interval: float) -> None:
        while True:
            try:
                await self.push_pdp(pdp)
            except ExternalToolError as exc:
                log.warning("A1 push failed: %s", exc)
            await asyncio.sleep(interval)

    def start(self, pdp: Pdp, interval: float = 10.0) -> None:
        self._task = asyncio.create_task(self._run(pdp, interval), name="a1-pusher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
