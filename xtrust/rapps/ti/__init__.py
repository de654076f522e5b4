"""Threat intelligence: STIX 2.1 indicators, pattern matching, TAXII 2.1 polling."""

from xtrust.rapps.ti.patterns import (
    Observables,
    Pattern,
    PatternError,
    UnsupportedPattern,
    compile_pattern,
)
from xtrust.rapps.ti.store import Indicator, IndicatorMatch, IndicatorStore, LoadStats, parse_time
from xtrust.rapps.ti.taxii import SourceState, TaxiiPoller, TaxiiSource

__all__ = [
    "Indicator",
    "IndicatorMatch",
    "IndicatorStore",
    "LoadStats",
    "Observables",
    "Pattern",
    "PatternError",
    "SourceState",
    "TaxiiPoller",
    "TaxiiSource",
    "UnsupportedPattern",
    "compile_pattern",
    "parse_time",
]
