"""E2 node simulator and digital twin of the RAN.

:class:`E2Node` is a simulated gNB that a real near-RT RIC accepts (E2 Setup,
E2SM-KPM reports, E2SM-RC control); :mod:`.model` is the RAN model behind it.
"""

from xtrust.e2sim.model import Cell, Ue, cqi_of_sinr, daily_load
from xtrust.e2sim.node import KPM_FUNCTION_ID, MEAS_NAMES, RC_FUNCTION_ID, E2Node, run_nodes

__all__ = [
    "KPM_FUNCTION_ID",
    "MEAS_NAMES",
    "RC_FUNCTION_ID",
    "Cell",
    "E2Node",
    "Ue",
    "cqi_of_sinr",
    "daily_load",
    "run_nodes",
]
