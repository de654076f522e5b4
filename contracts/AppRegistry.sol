// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title XTRUST AppRegistry
/// @notice Records which xApp/rApp versions were certified, approved, deployed,
/// suspended or revoked, and by whom, and anchors RFC 6962 Merkle roots of
/// certification reports.
/// @dev Compiled by scripts/compile_contracts.py (solc 0.8.37, evmVersion shanghai,
/// optimizer 200 runs); the ABI and bytecode are committed under xtrust/ledger/.
contract AppRegistry {
    // ------------------------------------------------------------------ roles
    bytes32 public constant ADMIN_ROLE = keccak256("ADMIN");
    bytes32 public constant CERTIFIER_ROLE = keccak256("CERTIFIER");
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR");

    // ------------------------------------------------------------------ state
    enum State {
        None,
        Submitted,
        Certified,
        Approved,
        Deployed,
        Suspended,
        Revoked
    }

    struct App {
        string name;
        string version;
        bytes32 artifact;
        bytes32 attestation;
        address submitter;
        address certifier;
        State state;
        uint32 approvals;
        uint64 updatedAt;
    }

    struct Anchor {
        uint64 id;
        uint64 count;
        uint64 timestamp;
    }

    mapping(bytes32 => mapping(address => bool)) private _roles;
    mapping(bytes32 => uint32) public roleMemberCount;
    mapping(address => bytes32) public certifierKey;
    uint32 public approvalThreshold;

    mapping(bytes32 => App) private _apps;
    mapping(bytes32 => bytes32) public appKeyByArtifact;
    mapping(bytes32 => mapping(address => bool)) public hasApproved;

    mapping(bytes32 => Anchor) public anchors;
    uint64 public batchCount;

    // ----------------------------------------------------------------- errors
    error Unauthorized(address account, bytes32 role);
    error AppNotFound(bytes32 key);
    error AppExists(bytes32 key);
    error ArtifactAlreadyRegistered(bytes32 artifact, bytes32 existingKey);
    error IllegalTransition(bytes32 key, State from, State to);
    error AlreadyApproved(bytes32 key, address operator);
    error CertifierKeyMissing(address certifier);
    error InvalidThreshold(uint32 threshold, uint32 operators);
    error LastAdmin(address account);
    error ZeroValue(string field);
    error BatchAlreadyAnchored(bytes32 root, uint64 id);

    // ----------------------------------------------------------------- events
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed by);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed by);
    event ThresholdChanged(uint32 previous, uint32 threshold, address indexed by);
    event CertifierKeyRegistered(address indexed certifier, bytes32 keyId, address indexed by);
    /// Emitted on every state transition of an app record (reason may be empty).
    event StateChanged(
        bytes32 indexed key, State from, State to, address indexed by, string reason
    );
    event AppSubmitted(
        bytes32 indexed key, string name, string version, bytes32 indexed artifact, address by
    );
    event AppCertified(bytes32 indexed key, bytes32 attestation, address indexed certifier);
    event ApprovalRecorded(
        bytes32 indexed key, address indexed operator, uint32 approvals, uint32 threshold
    );
    event BatchAnchored(
        uint64 indexed id, bytes32 indexed root, uint64 count, string uri, address indexed by
    );

    constructor() {
        _grant(ADMIN_ROLE, msg.sender);
        _grant(CERTIFIER_ROLE, msg.sender);
        _grant(OPERATOR_ROLE, msg.sender);
        approvalThreshold = 1;
        emit ThresholdChanged(0, 1, msg.sender);
    }

    modifier onlyRole(bytes32 role) {
        if (!_roles[role][msg.sender]) revert Unauthorized(msg.sender, role);
        _;
    }

    // ------------------------------------------------------------ role admin
    function hasRole(bytes32 role, address account) external view returns (bool) {
        return _roles[role][account];
    }

    function grantRole(bytes32 role, address account) external onlyRole(ADMIN_ROLE) {
        if (account == address(0)) revert ZeroValue("account");
        if (role != ADMIN_ROLE && role != CERTIFIER_ROLE && role != OPERATOR_ROLE) {
            revert ZeroValue("role");
        }
        _grant(role, account);
    }

    function revokeRole(bytes32 role, address account) external onlyRole(ADMIN_ROLE) {
        if (!_roles[role][account]) return;
        if (role == ADMIN_ROLE && roleMemberCount[ADMIN_ROLE] == 1) revert LastAdmin(account);
        if (role == OPERATOR_ROLE && roleMemberCount[OPERATOR_ROLE] - 1 < approvalThreshold) {
            revert InvalidThreshold(approvalThreshold, roleMemberCount[OPERATOR_ROLE] - 1);
        }
        _roles[role][account] = false;
        roleMemberCount[role] -= 1;
        emit RoleRevoked(role, account, msg.sender);
    }

    function setApprovalThreshold(uint32 threshold) external onlyRole(ADMIN_ROLE) {
        uint32 operators = roleMemberCount[OPERATOR_ROLE];
        if (threshold == 0 || threshold > operators) revert InvalidThreshold(threshold, operators);
        emit ThresholdChanged(approvalThreshold, threshold, msg.sender);
        approvalThreshold = threshold;
    }

    function registerCertifierKey(address certifier, bytes32 keyId)
        external
        onlyRole(ADMIN_ROLE)
    {
        if (keyId == bytes32(0)) revert ZeroValue("keyId");
        if (!_roles[CERTIFIER_ROLE][certifier]) revert Unauthorized(certifier, CERTIFIER_ROLE);
        certifierKey[certifier] = keyId;
        emit CertifierKeyRegistered(certifier, keyId, msg.sender);
    }

    function _grant(bytes32 role, address account) private {
        if (_roles[role][account]) return;
        _roles[role][account] = true;
        roleMemberCount[role] += 1;
        emit RoleGranted(role, account, msg.sender);
    }

    // ------------------------------------------------------------- lifecycle
    function appKey(string memory name, string memory version) public pure returns (bytes32) {
        return keccak256(abi.encode(name, version));
    }

    function submit(string calldata name, string calldata version, bytes32 artifact)
        external
        returns (bytes32 key)
    {
        if (
            !_roles[OPERATOR_ROLE][msg.sender] && !_roles[CERTIFIER_ROLE][msg.sender]
                && !_roles[ADMIN_ROLE][msg.sender]
        ) revert Unauthorized(msg.sender, OPERATOR_ROLE);
        if (bytes(name).length == 0) revert ZeroValue("name");
        if (bytes(version).length == 0) revert ZeroValue("version");
        if (artifact == bytes32(0)) revert ZeroValue("artifact");
        key = appKey(name, version);
        if (_apps[key].state != State.None) revert AppExists(key);
        bytes32 existing = appKeyByArtifact[artifact];
        if (existing != bytes32(0)) revert ArtifactAlreadyRegistered(artifact, existing);
        App storage app = _apps[key];
        app.name = name;
        app.version = version;
        app.artifact = artifact;
        app.submitter = msg.sender;
        appKeyByArtifact[artifact] = key;
        emit AppSubmitted(key, name, version, artifact, msg.sender);
        _move(key, app, State.Submitted, "");
    }

    function certify(bytes32 key, bytes32 attestation) external onlyRole(CERTIFIER_ROLE) {
        App storage app = _existing(key);
        if (attestation == bytes32(0)) revert ZeroValue("attestation");
        if (certifierKey[msg.sender] == bytes32(0)) revert CertifierKeyMissing(msg.sender);
        _require(key, app, State.Submitted, State.Certified);
        app.attestation = attestation;
        app.certifier = msg.sender;
        emit AppCertified(key, attestation, msg.sender);
        _move(key, app, State.Certified, "");
    }

    function approve(bytes32 key) external onlyRole(OPERATOR_ROLE) {
        App storage app = _existing(key);
        _require(key, app, State.Certified, State.Approved);
        if (hasApproved[key][msg.sender]) revert AlreadyApproved(key, msg.sender);
        hasApproved[key][msg.sender] = true;
        uint32 approvals = app.approvals + 1;
        app.approvals = approvals;
        emit ApprovalRecorded(key, msg.sender, approvals, approvalThreshold);
        if (approvals >= approvalThreshold) {
            _move(key, app, State.Approved, "");
        }
    }

    function deploy(bytes32 key) external onlyRole(OPERATOR_ROLE) {
        App storage app = _existing(key);
        _require(key, app, State.Approved, State.Deployed);
        _move(key, app, State.Deployed, "");
    }

    function suspend(bytes32 key, string calldata reason) external onlyRole(OPERATOR_ROLE) {
        App storage app = _existing(key);
        if (app.state != State.Approved && app.state != State.Deployed) {
            revert IllegalTransition(key, app.state, State.Suspended);
        }
        _move(key, app, State.Suspended, reason);
    }

    /// @notice Lift a suspension: the app returns to Approved (it was approved before).
    function resume(bytes32 key, string calldata reason) external onlyRole(OPERATOR_ROLE) {
        App storage app = _existing(key);
        _require(key, app, State.Suspended, State.Approved);
        _move(key, app, State.Approved, reason);
    }

    /// @notice Revoke an app version for good (terminal). Operators and admins may revoke.
    function revoke(bytes32 key, string calldata reason) external {
        if (!_roles[OPERATOR_ROLE][msg.sender] && !_roles[ADMIN_ROLE][msg.sender]) {
            revert Unauthorized(msg.sender, OPERATOR_ROLE);
        }
        App storage app = _existing(key);
        if (app.state == State.Revoked) revert IllegalTransition(key, app.state, State.Revoked);
        _move(key, app, State.Revoked, reason);
    }

    function getApp(bytes32 key) external view returns (App memory) {
        return _apps[key];
    }

    function getAppByArtifact(bytes32 artifact) external view returns (App memory) {
        return _apps[appKeyByArtifact[artifact]];
    }

    function _existing(bytes32 key) private view returns (App storage app) {
        app = _apps[key];
        if (app.state == State.None) revert AppNotFound(key);
    }

    function _require(bytes32 key, App storage app, State expected, State to) private view {
        if (app.state != expected) revert IllegalTransition(key, app.state, to);
    }

    function _move(bytes32 key, App storage app, State to, string memory reason) private {
        State from = app.state;
        app.state = to;
        app.updatedAt = uint64(block.timestamp);
        emit StateChanged(key, from, to, msg.sender, reason);
    }

    // ------------------------------------------------------- batch anchoring
    /// @notice Anchor the RFC 6962 Merkle root of `count` certification reports.
    function anchorBatch(bytes32 root, uint64 count, string calldata uri)
        external
        onlyRole(CERTIFIER_ROLE)
        returns (uint64 id)
    {
        if (root == bytes32(0)) revert ZeroValue("root");
        if (count == 0) revert ZeroValue("count");
        Anchor storage existing = anchors[root];
        if (existing.timestamp != 0) revert BatchAlreadyAnchored(root, existing.id);
        id = ++batchCount;
        anchors[root] = Anchor(id, count, uint64(block.timestamp));
        emit BatchAnchored(id, root, count, uri, msg.sender);
    }
}
