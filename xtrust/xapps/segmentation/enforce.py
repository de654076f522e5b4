"""Live enforcement: RIC-lite hooks decided by the compiled policy, quarantine and release.

:class:`Segmentation` owns the policy in force and its compilation. Moving an
asset (:meth:`Segmentation.quarantine`, :meth:`Segmentation.release`)
recompiles and swaps the compiled policy in one assignment; the hook objects
(:class:`SegmentationRouting`, :class:`SegmentationAdmission`) read it on
every decision, so a move takes effect on the next message, with no restart.
Each move is appended to an audit log (JSON lines).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xtrust.errors import InputError, PolicyViolation
from xtrust.log import get_logger
from xtrust.ric import mtypes
from xtrust.ric.platform.hooks import ControlRequestInfo, Decision, SenderInfo

from .compile import CompiledPolicy, compile_policy
from .policy import Policy
from .verify import Violation, verify

__all__ = ["Segmentation", "SegmentationAdmission", "SegmentationRouting"]

log = get_logger("xapps.segmentation")


class Segmentation:
    """The segmentation in force.

    ``audit_log``: path of the JSON-lines audit file (appended to), or None to
    keep the records in memory only (:attr:`audit`). With ``check=True`` a
    policy that fails :func:`~.verify.verify` is refused
    (:class:`~xtrust.errors.PolicyViolation`).
    """

    def __init__(
        self,
        policy: Policy,
        *,
        audit_log: str | Path | None = None,
        check: bool = True,
        clock: Callable[[], float] = time.time,
    ):
        if check:
            violations = verify(policy)
            if violations:
                raise PolicyViolation(
                    f"{policy.source}: {len(violations)} violating path(s), first: {violations[0]}"
                )
        self._lock = threading.Lock()
        self.policy = policy
        self.compiled: CompiledPolicy = compile_policy(policy)
        self.audit_path = Path(audit_log) if audit_log is not None else None
        self.audit: list[dict[str, Any]] = []
        self._clock = clock

    # ------------------------------------------------------------ decisions
    def asset_of(self, sender: SenderInfo) -> str | None:
        c = self.compiled
        if sender.xapp is not None and sender.xapp in c.policy.assets:
            return sender.xapp
        return c.by_endpoint.get(sender.endpoint)

    def sdl_allowed(self, app: str, namespace: str, op: str) -> bool:
        """May ``app`` ``op`` ("read" / "write") the SDL ``namespace``?"""
        if op not in ("read", "write"):
            raise InputError(f"SDL operation must be read or write, not {op!r}")
        return self.compiled.sdl_allowed(app, namespace, op)

    def a1_allowed(self, sender: str, receiver: str, policy_type: int) -> bool:
        """May ``sender`` (SMO / rApp) set policies of ``policy_type`` on ``receiver``?"""
        return self.compiled.a1_allowed(sender, receiver, policy_type)

    def violations(self) -> list[Violation]:
        return verify(self.policy)

    # ------------------------------------------------------------ moves
    def quarantine(self, asset: str, reason: str, actor: str = "segmentation") -> None:
        """Move ``asset`` to the quarantine zone; its flows are suspended at once."""
        with self._lock:
            policy = self.policy
            if asset not in policy.assets:
                raise InputError(f"unknown asset {asset!r}")
            qzone = policy.quarantine_zone()
            current = policy.assets[asset].zone
            if current == qzone:
                raise InputError(f"{asset} is already in quarantine")
            new = policy.with_zone(asset, qzone)
            new.moved[asset] = current
            self._install(new)
            self._record(asset, current, qzone, reason=reason, actor=actor)
        log.warning("quarantined %s (%s)", asset, reason)

    def release(self, asset: str, by: str, reason: str = "released") -> None:
        """Return a quarantined ``asset`` to the zone it was in; ``by`` is who decided."""
        with self._lock:
            policy = self.policy
            if asset not in policy.moved:
                raise InputError(f"{asset} is not quarantined (or was placed there by the policy)")
            back = policy.moved[asset]
            current = policy.assets[asset].zone
            new = policy.with_zone(asset, back)
            del new.moved[asset]
            self._install(new)
            self._record(asset, current, back, reason=reason, actor=by)
        log.warning("released %s to %s by %s", asset, back, by)

    def _install(self, policy: Policy) -> None:
        compiled = compile_policy(policy, self.compiled.table_id)
        # one assignment each: readers see either the old or the new compilation
        self.policy = policy
        self.compiled = compiled

    def _record(self, asset: str, src: str, dst: str, *, reason: str, actor: str) -> None:
        entry = {
            "time": datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="milliseconds"),
            "asset": asset,
            "from": src,
            "to": dst,
            "reason": reason,
            "actor": actor,
        }
        self.audit.append(entry)
        if self.audit_path is not None:
            line = json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n"
            fd = os.open(self.audit_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)


class SegmentationRouting:
    """RIC-lite :class:`~xtrust.ric.platform.hooks.RoutingPolicy`: a sender may send a
    message type to the RIC when a flow in force allows it to a ric-platform asset."""

    def __init__(self, segmentation: Segmentation):
        self.segmentation = segmentation

    def allow(self, sender: SenderInfo, mtype: int) -> Decision:
        seg = self.segmentation
        compiled = seg.compiled
        asset = seg.asset_of(sender)
        if asset is None:
            return Decision.deny(f"{sender.xapp or sender.endpoint} is not in the segmentation")
        if asset in compiled.quarantined:
            return Decision.deny(f"{asset} is quarantined")
        if compiled.rmr_allowed(asset, mtype, to_kind="ric-platform"):
            return Decision.allow(f"{asset} may send {mtypes.name(mtype)}")
        return Decision.deny(f"no flow allows {asset} to send {mtypes.name(mtype)} to the RIC")


class SegmentationAdmission:
    """RIC-lite :class:`~xtrust.ric.platform.hooks.ControlAdmission`: a control request
    goes through when an e2-control flow in force grants that RAN function on that node."""

    def __init__(self, segmentation: Segmentation):
        self.segmentation = segmentation

    async def admit(self, request: ControlRequestInfo) -> Decision:
        seg = self.segmentation
        compiled = seg.compiled
        asset = seg.asset_of(request.sender)
        if asset is None:
            who = request.sender.xapp or request.sender.endpoint
            return Decision.deny(f"{who} is not in the segmentation")
        if asset in compiled.quarantined:
            return Decision.deny(f"{asset} is quarantined: no RIC control")
        node = request.ran_name
        funcs = compiled.control.get((asset, node))
        if funcs is None:
            return Decision.deny(f"no e2-control flow from {asset} to {node}")
        if request.ran_function_id not in funcs:
            return Decision.deny(
                f"{asset} may not control RAN function {request.ran_function_id} on {node}"
            )
        return Decision.allow(f"{asset} -> {node} function {request.ran_function_id}")
