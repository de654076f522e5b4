"""The anomaly xApp: intrusion detection on KPM and MobiFlow telemetry.

* :mod:`.mobiflow_rules`: known-attack rules (null cipher/integrity, blind DoS
  with a reused S-TMSI, BTS resource depletion, identity extraction).
* :mod:`.sequence`: an unsupervised model of benign UE control-plane
  procedures (per-context channels learnt from benign traces only).
* :mod:`.detector`: :class:`MobiflowDetector` combining both; :func:`load_trace`.
* :mod:`.kpm`: cell-level KPM detectors (robust self-updating baselines, a
  persistence rule, and a classifier naming jamming, signalling storm, UE
  flood and fake base station).
* :mod:`.multivariate`, :mod:`.ue`: the batch multivariate and per-UE KPM detectors.
* :mod:`.app`: the running xApp; :mod:`.alerts`: the alert format and its sinks.
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
