"""KPM monitor xApp: E2SM-KPM from every E2 node, a live table of cells, an A1 PRB limit."""

from xtrust.xapps.kpmmon.app import DESCRIPTOR, POLICY_SCHEMA, CellRow, KpmMonitor, run_live

__all__ = ["DESCRIPTOR", "POLICY_SCHEMA", "CellRow", "KpmMonitor", "run_live"]
