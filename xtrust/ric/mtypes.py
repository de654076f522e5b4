"""RMR message types of O-RAN SC (``RIC_message_types.h`` of the RMR library), one place.

The xApp SDK and RIC-lite both import these. :data:`BY_NAME` and
:data:`BY_NUMBER` map the O-RAN SC names used in xApp descriptors
(``rxMessages`` / ``txMessages``) to numbers and back; :func:`mtype` accepts
either form.

Numbers as in the O-RAN SC header: health check 100/101; E2 subscription
12010-12012, subscription delete 12020-12022, RIC service update
12030-12032, RIC control 12040-12042, RIC indication 12050, RIC service
query 12060; A1 policy 20010-20012; E2 node events of E2 Manager
(``RAN_CONNECTED`` 1200, ``RAN_RESTARTED`` 1210, ``RAN_RECONFIGURED`` 1220).

XTRUST's own message types live in 30100-30199, outside every range the O-RAN
SC header assigns (its xApp-private examples use 30000-30099):

* ``XTRUST_ALERT`` 30100: a security alert (the JSON alert format of
  :mod:`xtrust.xapps.anomaly.alerts`), from a security xApp to whoever
  declares it in ``rxMessages`` (the segmentation xApp, rApps' gateways).
* ``XTRUST_CONTROL_REPORT`` 30101: RIC-lite's report of one RIC Control
  request it saw (sender, E2 node, RAN function, admission decision), JSON, to
  the xApps that declare it (the anomaly xApp watches for rogue control).
* ``XTRUST_QUARANTINE_REQ`` 30102: a request to quarantine (or release) an
  asset, JSON ``{"asset", "action": "quarantine"|"release", "reason", "alert"}``,
  to the segmentation xApp.
"""

from __future__ import annotations

from typing import Final

from xtrust.errors import InputError

__all__ = [
    "A1_POLICY_QUERY",
    "A1_POLICY_REQ",
    "A1_POLICY_RESP",
    "BY_NAME",
    "BY_NUMBER",
    "RAN_CONNECTED",
    "RAN_RECONFIGURED",
    "RAN_RESTARTED",
    "RIC_CONTROL_ACK",
    "RIC_CONTROL_FAILURE",
    "RIC_CONTROL_REQ",
    "RIC_ERROR_INDICATION",
    "RIC_HEALTH_CHECK_REQ",
    "RIC_HEALTH_CHECK_RESP",
    "RIC_INDICATION",
    "RIC_SERVICE_QUERY",
    "RIC_SERVICE_UPDATE",
    "RIC_SERVICE_UPDATE_ACK",
    "RIC_SERVICE_UPDATE_FAILURE",
    "RIC_SUB_DEL_FAILURE",
    "RIC_SUB_DEL_REQ",
    "RIC_SUB_DEL_RESP",
    "RIC_SUB_FAILURE",
    "RIC_SUB_REQ",
    "RIC_SUB_RESP",
    "XTRUST_ALERT",
    "XTRUST_CONTROL_REPORT",
    "XTRUST_QUARANTINE_REQ",
    "mtype",
    "name",
]

RIC_HEALTH_CHECK_REQ: Final = 100
RIC_HEALTH_CHECK_RESP: Final = 101

RAN_CONNECTED: Final = 1200
RAN_RESTARTED: Final = 1210
RAN_RECONFIGURED: Final = 1220

RIC_ERROR_INDICATION: Final = 10030

RIC_SUB_REQ: Final = 12010
RIC_SUB_RESP: Final = 12011
RIC_SUB_FAILURE: Final = 12012
RIC_SUB_DEL_REQ: Final = 12020
RIC_SUB_DEL_RESP: Final = 12021
RIC_SUB_DEL_FAILURE: Final = 12022
RIC_SERVICE_UPDATE: Final = 12030
RIC_SERVICE_UPDATE_ACK: Final = 12031
RIC_SERVICE_UPDATE_FAILURE: Final = 12032
RIC_CONTROL_REQ: Final = 12040
RIC_CONTROL_ACK: Final = 12041
RIC_CONTROL_FAILURE: Final = 12042
RIC_INDICATION: Final = 12050
RIC_SERVICE_QUERY: Final = 12060

A1_POLICY_REQ: Final = 20010
A1_POLICY_RESP: Final = 20011
A1_POLICY_QUERY: Final = 20012

XTRUST_ALERT: Final = 30100
XTRUST_CONTROL_REPORT: Final = 30101
XTRUST_QUARANTINE_REQ: Final = 30102

#: O-RAN SC name -> number
BY_NAME: Final[dict[str, int]] = {
    "RIC_HEALTH_CHECK_REQ": RIC_HEALTH_CHECK_REQ,
    "RIC_HEALTH_CHECK_RESP": RIC_HEALTH_CHECK_RESP,
    "RAN_CONNECTED": RAN_CONNECTED,
    "RAN_RESTARTED": RAN_RESTARTED,
    "RAN_RECONFIGURED": RAN_RECONFIGURED,
    "RIC_ERROR_INDICATION": RIC_ERROR_INDICATION,
    "RIC_SUB_REQ": RIC_SUB_REQ,
    "RIC_SUB_RESP": RIC_SUB_RESP,
    "RIC_SUB_FAILURE": RIC_SUB_FAILURE,
    "RIC_SUB_DEL_REQ": RIC_SUB_DEL_REQ,
    "RIC_SUB_DEL_RESP": RIC_SUB_DEL_RESP,
    "RIC_SUB_DEL_FAILURE": RIC_SUB_DEL_FAILURE,
    "RIC_SERVICE_UPDATE": RIC_SERVICE_UPDATE,
    "RIC_SERVICE_UPDATE_ACK": RIC_SERVICE_UPDATE_ACK,
    "RIC_SERVICE_UPDATE_FAILURE": RIC_SERVICE_UPDATE_FAILURE,
    "RIC_CONTROL_REQ": RIC_CONTROL_REQ,
    "RIC_CONTROL_ACK": RIC_CONTROL_ACK,
    "RIC_CONTROL_FAILURE": RIC_CONTROL_FAILURE,
    "RIC_INDICATION": RIC_INDICATION,
    "RIC_SERVICE_QUERY": RIC_SERVICE_QUERY,
    "A1_POLICY_REQ": A1_POLICY_REQ,
    "A1_POLICY_RESP": A1_POLICY_RESP,
    "A1_POLICY_QUERY": A1_POLICY_QUERY,
    "XTRUST_ALERT": XTRUST_ALERT,
    "XTRUST_CONTROL_REPORT": XTRUST_CONTROL_REPORT,
    "XTRUST_QUARANTINE_REQ": XTRUST_QUARANTINE_REQ,
}

#: number -> O-RAN SC name
BY_NUMBER: Final[dict[int, str]] = {v: k for k, v in BY_NAME.items()}


def mtype(value: int | str) -> int:
    """The message type number of an O-RAN SC name, a number, or a number as text.

    Raises :class:`~xtrust.errors.InputError` for an unknown name or a value
    outside 0..2**31-1.
    """
    if isinstance(value, bool):
        raise InputError(f"not an RMR message type: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if text in BY_NAME:
            return BY_NAME[text]
        if not text.isdigit():
            raise InputError(f"unknown RMR message type name {value!r}")
        number = int(text)
    else:
        raise InputError(f"not an RMR message type: {value!r}")
    if not 0 <= number <= 0x7FFFFFFF:
        raise InputError(f"RMR message type {number} is out of range (0..2147483647)")
    return number


def name(number: int) -> str:
    """The O-RAN SC name of a message type, or its number as text."""
    return BY_NUMBER.get(number, str(number))
