"""Where O-RAN SC's E2 Manager keeps the RNIB in the SDL: namespace, keys, groups, channels.

All entries live in the SDL namespace ``e2Manager`` (Redis keys
``{e2Manager},<key>``). Values are protobuf-serialized entities of
``nodeb.proto`` unless noted.

================================== ===================================================
key / group / channel              content
================================== ===================================================
``RAN:<ran_name>``                 NodebInfo (the E2 node, by its inventory name)
``<ENB|GNB>:<plmn_id>:<nb_id>``    the same NodebInfo, by global id (when it has one)
``NRCELL:<cell_id>``               Cell (NR_CELL) of a gNB
``CELL:<cell_id>``                 Cell (LTE_CELL) of an eNB
``PCI:<ran_name>:<pci>``           the same Cell, by node and PCI; PCI in lower-case
                                   hex, at least two digits (``%02x``: 5 -> ``05``)
``LOAD:<ran_name>``                RanLoadInformation (X2 load; not used by XTRUST)
``E2TInstance:<address>``          E2 termination instance (JSON)
``E2TAddresses``                   list of E2 termination addresses (JSON)
``GENERAL``                        E2 Manager general configuration (JSON)
group ``GNB`` / ``ENB``            serialized NbIdentity of each node of that type
                                   (``UNKNOWN`` for nodes of unknown type)
channel ``RAN_CONNECTION_STATUS_CHANGE``  events ``<ran_name>_CONNECTED`` and
                                   ``<ran_name>_DISCONNECTED`` when a node's status
                                   flips to/from CONNECTED
channel ``RAN_MANIPULATION``       events ``<ran_name>_ADDED`` / ``_UPDATED`` /
                                   ``_DELETED``
================================== ===================================================

Source: the O-RAN SC nodeb-rnib library (``common/utils.go``: key builders and
the namespace) and E2 Manager (``rNibWriter``: what is written together, group
membership, channel names from its default configuration).
"""

from __future__ import annotations

from xtrust.errors import InputError

from .nodeb_pb2 import Node

__all__ = [
    "E2T_ADDRESSES_KEY",
    "GENERAL_CONFIGURATION_KEY",
    "NAMESPACE",
    "RAN_MANIPULATION_CHANNEL",
    "STATE_CHANGE_CHANNEL",
    "cell_id_key",
    "cell_pci_key",
    "e2t_instance_key",
    "group_name",
    "nodeb_id_key",
    "nodeb_name_key",
    "nr_cell_id_key",
    "ran_load_key",
]

NAMESPACE = "e2Manager"
STATE_CHANGE_CHANNEL = "RAN_CONNECTION_STATUS_CHANGE"
RAN_MANIPULATION_CHANNEL = "RAN_MANIPULATION"
E2T_ADDRESSES_KEY = "E2TAddresses"
GENERAL_CONFIGURATION_KEY = "GENERAL"


def _need(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"RNIB {what} must be a non-empty string, got {value!r}")
    return value


def group_name(node_type: int) -> str:
    """The group of a node type: ``GNB``, ``ENB`` or ``UNKNOWN`` (the enum name)."""
    try:
        return Node.Type.Name(node_type)
    except ValueError:
        raise InputError(f"unknown RNIB node type {node_type!r}") from None


def nodeb_name_key(ran_name: str) -> str:
    """``RAN:<ran_name>``"""
    return f"RAN:{_need(ran_name, 'RAN name')}"


def nodeb_id_key(node_type: int, plmn_id: str, nb_id: str) -> str:
    """``<ENB|GNB|UNKNOWN>:<plmn_id>:<nb_id>``"""
    return f"{group_name(node_type)}:{_need(plmn_id, 'PLMN id')}:{_need(nb_id, 'NB id')}"


def cell_id_key(cell_id: str) -> str:
    """``CELL:<cell_id>`` (LTE cell)"""
    return f"CELL:{_need(cell_id, 'cell id')}"


def nr_cell_id_key(cell_id: str) -> str:
    """``NRCELL:<cell_id>`` (NR cell)"""
    return f"NRCELL:{_need(cell_id, 'cell id')}"


def cell_pci_key(ran_name: str, pci: int) -> str:
    """``PCI:<ran_name>:<pci as %02x>``"""
    if not isinstance(pci, int) or isinstance(pci, bool) or pci < 0:
        raise InputError(f"RNIB PCI must be a non-negative integer, got {pci!r}")
    return f"PCI:{_need(ran_name, 'RAN name')}:{pci:02x}"


def ran_load_key(ran_name: str) -> str:
    """``LOAD:<ran_name>``"""
    return f"LOAD:{_need(ran_name, 'RAN name')}"


def e2t_instance_key(address: str) -> str:
    """``E2TInstance:<address>``"""
    return f"E2TInstance:{_need(address, 'E2T address')}"
