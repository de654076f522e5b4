"""Numbers that O-RAN and IANA assign to E2 transport."""

from __future__ import annotations

__all__ = ["E2AP_PPID", "E2AP_STREAM", "E2_CP_PPID", "E2_DU_PPID", "E2_PORT", "E2_UP_PPID"]

E2_PORT = 36421
"""SCTP port of the near-RT RIC's E2 termination (also the TCP fallback's default)."""

E2_CP_PPID = 70
"""SCTP payload protocol identifier registered with IANA as "E2-CP"."""
E2_UP_PPID = 71
"""IANA "E2-UP" PPID (some E2 nodes of type gNB-CU-UP send with it)."""
E2_DU_PPID = 72
"""IANA "E2-DU" PPID (some E2 nodes of type gNB-DU send with it)."""

E2AP_PPID = E2_CP_PPID
"""PPID XTRUST sets on every E2AP message it sends over SCTP (70)."""

E2AP_STREAM = 0
"""SCTP stream XTRUST sends every E2AP message on (messages received on any stream are accepted)."""
