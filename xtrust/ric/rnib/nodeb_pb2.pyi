from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN_CONNECTION_STATUS: _ClassVar[ConnectionStatus]
    CONNECTED: _ClassVar[ConnectionStatus]
    DISCONNECTED: _ClassVar[ConnectionStatus]
    CONNECTED_SETUP_FAILED: _ClassVar[ConnectionStatus]
    CONNECTING: _ClassVar[ConnectionStatus]
    SHUTTING_DOWN: _ClassVar[ConnectionStatus]
    SHUT_DOWN: _ClassVar[ConnectionStatus]

class E2ApplicationProtocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN_E2_APPLICATION_PROTOCOL: _ClassVar[E2ApplicationProtocol]
    X2_SETUP_REQUEST: _ClassVar[E2ApplicationProtocol]
    ENDC_X2_SETUP_REQUEST: _ClassVar[E2ApplicationProtocol]

class GnbType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN_GNB_TYPE: _ClassVar[GnbType]
    GNB: _ClassVar[GnbType]
    EN_GNB: _ClassVar[GnbType]

class EnbType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN_ENB_TYPE: _ClassVar[EnbType]
    MACRO_ENB: _ClassVar[EnbType]
    HOME_ENB: _ClassVar[EnbType]
    SHORT_MACRO_ENB: _ClassVar[EnbType]
    LONG_MACRO_ENB: _ClassVar[EnbType]
    MACRO_NG_ENB: _ClassVar[EnbType]
    SHORT_MACRO_NG_ENB: _ClassVar[EnbType]
    LONG_MACRO_NG_ENB: _ClassVar[EnbType]

class E2nodeComponentInterfaceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ng: _ClassVar[E2nodeComponentInterfaceType]
    xn: _ClassVar[E2nodeComponentInterfaceType]
    e1: _ClassVar[E2nodeComponentInterfaceType]
    f1: _ClassVar[E2nodeComponentInterfaceType]
    w1: _ClassVar[E2nodeComponentInterfaceType]
    s1: _ClassVar[E2nodeComponentInterfaceType]
    x2: _ClassVar[E2nodeComponentInterfaceType]
UNKNOWN_CONNECTION_STATUS: ConnectionStatus
CONNECTED: ConnectionStatus
DISCONNECTED: ConnectionStatus
CONNECTED_SETUP_FAILED: ConnectionStatus
CONNECTING: ConnectionStatus
SHUTTING_DOWN: ConnectionStatus
SHUT_DOWN: ConnectionStatus
UNKNOWN_E2_APPLICATION_PROTOCOL: E2ApplicationProtocol
X2_SETUP_REQUEST: E2ApplicationProtocol
ENDC_X2_SETUP_REQUEST: E2ApplicationProtocol
UNKNOWN_GNB_TYPE: GnbType
GNB: GnbType
EN_GNB: GnbType
UNKNOWN_ENB_TYPE: EnbType
MACRO_ENB: EnbType
HOME_ENB: EnbType
SHORT_MACRO_ENB: EnbType
LONG_MACRO_ENB: EnbType
MACRO_NG_ENB: EnbType
SHORT_MACRO_NG_ENB: EnbType
LONG_MACRO_NG_ENB: EnbType
ng: E2nodeComponentInterfaceType
xn: E2nodeComponentInterfaceType
e1: E2nodeComponentInterfaceType
f1: E2nodeComponentInterfaceType
w1: E2nodeComponentInterfaceType
s1: E2nodeComponentInterfaceType
x2: E2nodeComponentInterfaceType

class GlobalNbId(_message.Message):
    __slots__ = ("plmn_id", "nb_id")
    PLMN_ID_FIELD_NUMBER: _ClassVar[int]
    NB_ID_FIELD_NUMBER: _ClassVar[int]
    plmn_id: str
    nb_id: str
    def __init__(self, plmn_id: _Optional[str] = ..., nb_id: _Optional[str] = ...) -> None: ...

class NbIdentity(_message.Message):
    __slots__ = ("inventory_name", "global_nb_id", "connection_status", "health_check_timestamp_sent", "health_check_timestamp_received")
    INVENTORY_NAME_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_NB_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_TIMESTAMP_SENT_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_TIMESTAMP_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    inventory_name: str
    global_nb_id: GlobalNbId
    connection_status: ConnectionStatus
    health_check_timestamp_sent: int
    health_check_timestamp_received: int
    def __init__(self, inventory_name: _Optional[str] = ..., global_nb_id: _Optional[_Union[GlobalNbId, _Mapping]] = ..., connection_status: _Optional[_Union[ConnectionStatus, str]] = ..., health_check_timestamp_sent: _Optional[int] = ..., health_check_timestamp_received: _Optional[int] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ()
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[Node.Type]
        ENB: _ClassVar[Node.Type]
        GNB: _ClassVar[Node.Type]
    UNKNOWN: Node.Type
    ENB: Node.Type
    GNB: Node.Type
    def __init__(self) -> None: ...

class Failure(_message.Message):
    __slots__ = ()
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN_TYPE: _ClassVar[Failure.Type]
        X2_SETUP_FAILURE: _ClassVar[Failure.Type]
        ENDC_X2_SETUP_FAILURE: _ClassVar[Failure.Type]
    UNKNOWN_TYPE: Failure.Type
    X2_SETUP_FAILURE: Failure.Type
    ENDC_X2_SETUP_FAILURE: Failure.Type
    def __init__(self) -> None: ...

class NodebInfo(_message.Message):
    __slots__ = ("ran_name", "ip", "port", "e2_application_protocol", "connection_status", "global_nb_id", "node_type", "enb", "gnb", "failure_type", "associated_e2t_instance_address", "setup_from_network")
    RAN_NAME_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    E2_APPLICATION_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_NB_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENB_FIELD_NUMBER: _ClassVar[int]
    GNB_FIELD_NUMBER: _ClassVar[int]
    FAILURE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATED_E2T_INSTANCE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SETUP_FROM_NETWORK_FIELD_NUMBER: _ClassVar[int]
    ran_name: str
    ip: str
    port: int
    e2_application_protocol: E2ApplicationProtocol
    connection_status: ConnectionStatus
    global_nb_id: GlobalNbId
    node_type: Node.Type
    enb: Enb
    gnb: Gnb
    failure_type: Failure.Type
    associated_e2t_instance_address: str
    setup_from_network: bool
    def __init__(self, ran_name: _Optional[str] = ..., ip: _Optional[str] = ..., port: _Optional[int] = ..., e2_application_protocol: _Optional[_Union[E2ApplicationProtocol, str]] = ..., connection_status: _Optional[_Union[ConnectionStatus, str]] = ..., global_nb_id: _Optional[_Union[GlobalNbId, _Mapping]] = ..., node_type: _Optional[_Union[Node.Type, str]] = ..., enb: _Optional[_Union[Enb, _Mapping]] = ..., gnb: _Optional[_Union[Gnb, _Mapping]] = ..., failure_type: _Optional[_Union[Failure.Type, str]] = ..., associated_e2t_instance_address: _Optional[str] = ..., setup_from_network: _Optional[bool] = ...) -> None: ...

class RanFunction(_message.Message):
    __slots__ = ("ran_function_id", "ran_function_definition", "ran_function_revision", "ran_function_oid")
    RAN_FUNCTION_ID_FIELD_NUMBER: _ClassVar[int]
    RAN_FUNCTION_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    RAN_FUNCTION_REVISION_FIELD_NUMBER: _ClassVar[int]
    RAN_FUNCTION_OID_FIELD_NUMBER: _ClassVar[int]
    ran_function_id: int
    ran_function_definition: str
    ran_function_revision: int
    ran_function_oid: str
    def __init__(self, ran_function_id: _Optional[int] = ..., ran_function_definition: _Optional[str] = ..., ran_function_revision: _Optional[int] = ..., ran_function_oid: _Optional[str] = ...) -> None: ...

class Gnb(_message.Message):
    __slots__ = ("served_nr_cells", "ran_functions", "gnb_type", "node_configs")
    SERVED_NR_CELLS_FIELD_NUMBER: _ClassVar[int]
    RAN_FUNCTIONS_FIELD_NUMBER: _ClassVar[int]
    GNB_TYPE_FIELD_NUMBER: _ClassVar[int]
    NODE_CONFIGS_FIELD_NUMBER: _ClassVar[int]
    served_nr_cells: _containers.RepeatedCompositeFieldContainer[ServedNRCell]
    ran_functions: _containers.RepeatedCompositeFieldContainer[RanFunction]
    gnb_type: GnbType
    node_configs: _containers.RepeatedCompositeFieldContainer[E2nodeComponentConfig]
    def __init__(self, served_nr_cells: _Optional[_Iterable[_Union[ServedNRCell, _Mapping]]] = ..., ran_functions: _Optional[_Iterable[_Union[RanFunction, _Mapping]]] = ..., gnb_type: _Optional[_Union[GnbType, str]] = ..., node_configs: _Optional[_Iterable[_Union[E2nodeComponentConfig, _Mapping]]] = ...) -> None: ...

class Nr(_message.Message):
    __slots__ = ()
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[Nr.Mode]
        FDD: _ClassVar[Nr.Mode]
        TDD: _ClassVar[Nr.Mode]
    UNKNOWN: Nr.Mode
    FDD: Nr.Mode
    TDD: Nr.Mode
    def __init__(self) -> None: ...

class ServedNRCell(_message.Message):
    __slots__ = ("served_nr_cell_information", "nr_neighbour_infos")
    SERVED_NR_CELL_INFORMATION_FIELD_NUMBER: _ClassVar[int]
    NR_NEIGHBOUR_INFOS_FIELD_NUMBER: _ClassVar[int]
    served_nr_cell_information: ServedNRCellInformation
    nr_neighbour_infos: _containers.RepeatedCompositeFieldContainer[NrNeighbourInformation]
    def __init__(self, served_nr_cell_information: _Optional[_Union[ServedNRCellInformation, _Mapping]] = ..., nr_neighbour_infos: _Optional[_Iterable[_Union[NrNeighbourInformation, _Mapping]]] = ...) -> None: ...

class ServedNRCellInformation(_message.Message):
    __slots__ = ("nr_pci", "cell_id", "stac5g", "configured_stac", "served_plmns", "nr_mode")
    NR_PCI_FIELD_NUMBER: _ClassVar[int]
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    STAC5G_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_STAC_FIELD_NUMBER: _ClassVar[int]
    SERVED_PLMNS_FIELD_NUMBER: _ClassVar[int]
    NR_MODE_FIELD_NUMBER: _ClassVar[int]
    nr_pci: int
    cell_id: str
    stac5g: str
    configured_stac: str
    served_plmns: _containers.RepeatedScalarFieldContainer[str]
    nr_mode: Nr.Mode
    def __init__(self, nr_pci: _Optional[int] = ..., cell_id: _Optional[str] = ..., stac5g: _Optional[str] = ..., configured_stac: _Optional[str] = ..., served_plmns: _Optional[_Iterable[str]] = ..., nr_mode: _Optional[_Union[Nr.Mode, str]] = ...) -> None: ...

class NrNeighbourInformation(_message.Message):
    __slots__ = ("nr_pci", "nr_cgi", "nr_mode", "stac5g", "configured_stac")
    NR_PCI_FIELD_NUMBER: _ClassVar[int]
    NR_CGI_FIELD_NUMBER: _ClassVar[int]
    NR_MODE_FIELD_NUMBER: _ClassVar[int]
    STAC5G_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_STAC_FIELD_NUMBER: _ClassVar[int]
    nr_pci: int
    nr_cgi: str
    nr_mode: Nr.Mode
    stac5g: str
    configured_stac: str
    def __init__(self, nr_pci: _Optional[int] = ..., nr_cgi: _Optional[str] = ..., nr_mode: _Optional[_Union[Nr.Mode, str]] = ..., stac5g: _Optional[str] = ..., configured_stac: _Optional[str] = ...) -> None: ...

class Enb(_message.Message):
    __slots__ = ("enb_type", "served_cells", "gu_group_ids")
    ENB_TYPE_FIELD_NUMBER: _ClassVar[int]
    SERVED_CELLS_FIELD_NUMBER: _ClassVar[int]
    GU_GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    enb_type: EnbType
    served_cells: _containers.RepeatedCompositeFieldContainer[ServedCellInfo]
    gu_group_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, enb_type: _Optional[_Union[EnbType, str]] = ..., served_cells: _Optional[_Iterable[_Union[ServedCellInfo, _Mapping]]] = ..., gu_group_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Eutra(_message.Message):
    __slots__ = ()
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[Eutra.Mode]
        FDD: _ClassVar[Eutra.Mode]
        TDD: _ClassVar[Eutra.Mode]
    UNKNOWN: Eutra.Mode
    FDD: Eutra.Mode
    TDD: Eutra.Mode
    def __init__(self) -> None: ...

class ServedCellInfo(_message.Message):
    __slots__ = ("pci", "cell_id", "tac", "broadcast_plmns", "eutra_mode", "neighbour_infos")
    PCI_FIELD_NUMBER: _ClassVar[int]
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    TAC_FIELD_NUMBER: _ClassVar[int]
    BROADCAST_PLMNS_FIELD_NUMBER: _ClassVar[int]
    EUTRA_MODE_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOUR_INFOS_FIELD_NUMBER: _ClassVar[int]
    pci: int
    cell_id: str
    tac: str
    broadcast_plmns: _containers.RepeatedScalarFieldContainer[str]
    eutra_mode: Eutra.Mode
    neighbour_infos: _containers.RepeatedCompositeFieldContainer[NeighbourInformation]
    def __init__(self, pci: _Optional[int] = ..., cell_id: _Optional[str] = ..., tac: _Optional[str] = ..., broadcast_plmns: _Optional[_Iterable[str]] = ..., eutra_mode: _Optional[_Union[Eutra.Mode, str]] = ..., neighbour_infos: _Optional[_Iterable[_Union[NeighbourInformation, _Mapping]]] = ...) -> None: ...

class NeighbourInformation(_message.Message):
    __slots__ = ("ecgi", "pci", "ear_fcn", "tac")
    ECGI_FIELD_NUMBER: _ClassVar[int]
    PCI_FIELD_NUMBER: _ClassVar[int]
    EAR_FCN_FIELD_NUMBER: _ClassVar[int]
    TAC_FIELD_NUMBER: _ClassVar[int]
    ecgi: str
    pci: int
    ear_fcn: int
    tac: str
    def __init__(self, ecgi: _Optional[str] = ..., pci: _Optional[int] = ..., ear_fcn: _Optional[int] = ..., tac: _Optional[str] = ...) -> None: ...

class Cell(_message.Message):
    __slots__ = ("type", "served_cell_info", "served_nr_cell")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN_CELL: _ClassVar[Cell.Type]
        LTE_CELL: _ClassVar[Cell.Type]
        NR_CELL: _ClassVar[Cell.Type]
    UNKNOWN_CELL: Cell.Type
    LTE_CELL: Cell.Type
    NR_CELL: Cell.Type
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SERVED_CELL_INFO_FIELD_NUMBER: _ClassVar[int]
    SERVED_NR_CELL_FIELD_NUMBER: _ClassVar[int]
    type: Cell.Type
    served_cell_info: ServedCellInfo
    served_nr_cell: ServedNRCell
    def __init__(self, type: _Optional[_Union[Cell.Type, str]] = ..., served_cell_info: _Optional[_Union[ServedCellInfo, _Mapping]] = ..., served_nr_cell: _Optional[_Union[ServedNRCell, _Mapping]] = ...) -> None: ...

class E2nodeComponentConfig(_message.Message):
    __slots__ = ("e2nodeComponentInterfaceTypeNG", "e2nodeComponentInterfaceTypeXn", "e2nodeComponentInterfaceTypeE1", "e2nodeComponentInterfaceTypeF1", "e2nodeComponentInterfaceTypeW1", "e2nodeComponentInterfaceTypeS1", "e2nodeComponentInterfaceTypeX2", "e2nodeComponentInterfaceType", "e2nodeComponentRequestPart", "e2nodeComponentResponsePart")
    E2NODECOMPONENTINTERFACETYPENG_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTINTERFACETYPEXN_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTINTERFACETYPEE1_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTINTERFACETYPEF1_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTINTERFACETYPEW1_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTINTERFACETYPES1_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTINTERFACETYPEX2_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTINTERFACETYPE_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTREQUESTPART_FIELD_NUMBER: _ClassVar[int]
    E2NODECOMPONENTRESPONSEPART_FIELD_NUMBER: _ClassVar[int]
    e2nodeComponentInterfaceTypeNG: E2nodeComponentInterfaceNG
    e2nodeComponentInterfaceTypeXn: E2nodeComponentInterfaceXn
    e2nodeComponentInterfaceTypeE1: E2nodeComponentInterfaceE1
    e2nodeComponentInterfaceTypeF1: E2nodeComponentInterfaceF1
    e2nodeComponentInterfaceTypeW1: E2nodeComponentInterfaceW1
    e2nodeComponentInterfaceTypeS1: E2nodeComponentInterfaceS1
    e2nodeComponentInterfaceTypeX2: E2nodeComponentInterfaceX2
    e2nodeComponentInterfaceType: E2nodeComponentInterfaceType
    e2nodeComponentRequestPart: bytes
    e2nodeComponentResponsePart: bytes
    def __init__(self, e2nodeComponentInterfaceTypeNG: _Optional[_Union[E2nodeComponentInterfaceNG, _Mapping]] = ..., e2nodeComponentInterfaceTypeXn: _Optional[_Union[E2nodeComponentInterfaceXn, _Mapping]] = ..., e2nodeComponentInterfaceTypeE1: _Optional[_Union[E2nodeComponentInterfaceE1, _Mapping]] = ..., e2nodeComponentInterfaceTypeF1: _Optional[_Union[E2nodeComponentInterfaceF1, _Mapping]] = ..., e2nodeComponentInterfaceTypeW1: _Optional[_Union[E2nodeComponentInterfaceW1, _Mapping]] = ..., e2nodeComponentInterfaceTypeS1: _Optional[_Union[E2nodeComponentInterfaceS1, _Mapping]] = ..., e2nodeComponentInterfaceTypeX2: _Optional[_Union[E2nodeComponentInterfaceX2, _Mapping]] = ..., e2nodeComponentInterfaceType: _Optional[_Union[E2nodeComponentInterfaceType, str]] = ..., e2nodeComponentRequestPart: _Optional[bytes] = ..., e2nodeComponentResponsePart: _Optional[bytes] = ...) -> None: ...

class E2nodeComponentInterfaceNG(_message.Message):
    __slots__ = ("amf_name",)
    AMF_NAME_FIELD_NUMBER: _ClassVar[int]
    amf_name: str
    def __init__(self, amf_name: _Optional[str] = ...) -> None: ...

class E2nodeComponentInterfaceXn(_message.Message):
    __slots__ = ("global_ngenb_id", "global_gnb_id")
    GLOBAL_NGENB_ID_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_GNB_ID_FIELD_NUMBER: _ClassVar[int]
    global_ngenb_id: GlobalNGENBID
    global_gnb_id: GlobalGNBID
    def __init__(self, global_ngenb_id: _Optional[_Union[GlobalNGENBID, _Mapping]] = ..., global_gnb_id: _Optional[_Union[GlobalGNBID, _Mapping]] = ...) -> None: ...

class E2nodeComponentInterfaceE1(_message.Message):
    __slots__ = ("gNB_cu_cp_id",)
    GNB_CU_CP_ID_FIELD_NUMBER: _ClassVar[int]
    gNB_cu_cp_id: int
    def __init__(self, gNB_cu_cp_id: _Optional[int] = ...) -> None: ...

class E2nodeComponentInterfaceF1(_message.Message):
    __slots__ = ("gNB_du_id",)
    GNB_DU_ID_FIELD_NUMBER: _ClassVar[int]
    gNB_du_id: int
    def __init__(self, gNB_du_id: _Optional[int] = ...) -> None: ...

class E2nodeComponentInterfaceW1(_message.Message):
    __slots__ = ("ngenb_du_id",)
    NGENB_DU_ID_FIELD_NUMBER: _ClassVar[int]
    ngenb_du_id: int
    def __init__(self, ngenb_du_id: _Optional[int] = ...) -> None: ...

class E2nodeComponentInterfaceS1(_message.Message):
    __slots__ = ("mme_name",)
    MME_NAME_FIELD_NUMBER: _ClassVar[int]
    mme_name: str
    def __init__(self, mme_name: _Optional[str] = ...) -> None: ...

class E2nodeComponentInterfaceX2(_message.Message):
    __slots__ = ("global_enb_id", "global_engnb_id")
    GLOBAL_ENB_ID_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_ENGNB_ID_FIELD_NUMBER: _ClassVar[int]
    global_enb_id: GlobalENBID
    global_engnb_id: GlobalENGNBID
    def __init__(self, global_enb_id: _Optional[_Union[GlobalENBID, _Mapping]] = ..., global_engnb_id: _Optional[_Union[GlobalENGNBID, _Mapping]] = ...) -> None: ...

class GlobalENBID(_message.Message):
    __slots__ = ("plmn_identity", "enb_id", "enb_type")
    PLMN_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    ENB_ID_FIELD_NUMBER: _ClassVar[int]
    ENB_TYPE_FIELD_NUMBER: _ClassVar[int]
    plmn_identity: str
    enb_id: str
    enb_type: EnbType
    def __init__(self, plmn_identity: _Optional[str] = ..., enb_id: _Optional[str] = ..., enb_type: _Optional[_Union[EnbType, str]] = ...) -> None: ...

class GlobalENGNBID(_message.Message):
    __slots__ = ("plmn_identity", "gnb_id", "gnb_type")
    PLMN_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    GNB_ID_FIELD_NUMBER: _ClassVar[int]
    GNB_TYPE_FIELD_NUMBER: _ClassVar[int]
    plmn_identity: str
    gnb_id: str
    gnb_type: GnbType
    def __init__(self, plmn_identity: _Optional[str] = ..., gnb_id: _Optional[str] = ..., gnb_type: _Optional[_Union[GnbType, str]] = ...) -> None: ...

class GlobalGNBID(_message.Message):
    __slots__ = ("plmn_identity", "gnb_id", "gnb_type")
    PLMN_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    GNB_ID_FIELD_NUMBER: _ClassVar[int]
    GNB_TYPE_FIELD_NUMBER: _ClassVar[int]
    plmn_identity: str
    gnb_id: str
    gnb_type: GnbType
    def __init__(self, plmn_identity: _Optional[str] = ..., gnb_id: _Optional[str] = ..., gnb_type: _Optional[_Union[GnbType, str]] = ...) -> None: ...

class GlobalNGENBID(_message.Message):
    __slots__ = ("plmn_identity", "enb_id", "enb_type")
    PLMN_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    ENB_ID_FIELD_NUMBER: _ClassVar[int]
    ENB_TYPE_FIELD_NUMBER: _ClassVar[int]
    plmn_identity: str
    enb_id: str
    enb_type: EnbType
    def __init__(self, plmn_identity: _Optional[str] = ..., enb_id: _Optional[str] = ..., enb_type: _Optional[_Union[EnbType, str]] = ...) -> None: ...
