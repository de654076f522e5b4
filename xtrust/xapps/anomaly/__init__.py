"""The anomaly xApp: control-plane intrusion detection on MobiFlow telemetry.

* :mod:`.mobiflow_rules`: known-attack rules (null cipher/integrity, blind DoS
  with a reused S-TMSI, BTS resource depletion, identity extraction).
* :mod:`.sequence`: a bigram model of benign per-UE message sequences.
* :mod:`.detector`: :class:`MobiflowDetector` combining both; :func:`load_trace`.
* :mod:`.kpm`: cell-level KPM detectors (robust self-updating baselines, a
  persistence rule, and a classifier naming jamming, signalling storm, UE
  flood and fake base station).
* :mod:`.cli`: the ``xtrust detect`` click group.
"""

from __future__ import annotations

from .detector import UNKNOWN_ANOMALY, LoadedTrace, MobiflowDetector, Verdict, load_trace
from .kpm import UNKNOWN_KPM, Alert, CellDetector, Deviation, KpmConfig, KpmDetector, classify
from .mobiflow_rules import RuleHit, contexts, run_rules
from .sequence import SequenceModel

__all__ = ["UNKNOWN_ANOMALY", "UNKNOWN_KPM", "Alert", "CellDetector", "Deviation", "KpmConfig",
           "KpmDetector", "LoadedTrace", "MobiflowDetector", "RuleHit", "SequenceModel",
           "Verdict", "classify", "contexts", "load_trace", "run_rules"]  # fmt: skip
