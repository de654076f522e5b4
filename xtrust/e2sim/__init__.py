"""E2 node simulator and digital twin of the RAN.

:class:`E2Node` is a simulated gNB that a real near-RT RIC accepts (E2 Setup,
E2SM-KPM reports, E2SM-RC control); :mod:`.model` is the RAN model behind it,
:mod:`.scenarios` the attack timelines with their ground truth,
:mod:`.mobiflow` the control-plane telemetry, :mod:`.twin` the one-command
digital twin. The rogue xApp lives in :mod:`.rogue` (import it from there: it
pulls in the xApp SDK).
"""

from xtrust.e2sim.mobiflow import MobiflowWriter, UeRecord, read_trace
from xtrust.e2sim.model import (
    CELL_MEAS_NAMES,
    UE_MEAS_NAMES,
    Cell,
    Profile,
    Ue,
    connect_cells,
    cqi_of_sinr,
    daily_load,
)
from xtrust.e2sim.node import KPM_FUNCTION_ID, MEAS_NAMES, RC_FUNCTION_ID, E2Node, run_nodes
from xtrust.e2sim.scenarios import BUILTIN, Scenario, ScenarioEngine, load_scenario

__all__ = [
    "BUILTIN",
    "CELL_MEAS_NAMES",
    "KPM_FUNCTION_ID",
    "MEAS_NAMES",
    "RC_FUNCTION_ID",
    "UE_MEAS_NAMES",
    "Cell",
    "E2Node",
    "MobiflowWriter",
    "Profile",
    "Scenario",
    "ScenarioEngine",
    "Ue",
    "UeRecord",
    "connect_cells",
    "cqi_of_sinr",
    "daily_load",
    "load_scenario",
    "read_trace",
    "run_nodes",
]
