"""Hybrid classical + post-quantum cryptography and QKD key delivery.

Public API (see docs/crypto.md):

* keys: :class:`HybridSigningKey` / :class:`HybridPublicKey` (Ed25519 + ML-DSA-65),
  :class:`HybridKemPrivateKey` / :class:`HybridKemPublicKey` (X25519 + ML-KEM-768),
  :func:`load_private_key`, :func:`load_public_key`;
* DSSE v1 envelopes: :func:`sign_dsse`, :func:`verify_dsse` (both signatures required);
* in-toto Statement v1: :func:`in_toto_statement`, :func:`parse_statement`,
  :func:`sign_statement`, :func:`verify_statement`;
* digests: :func:`tree_digest`, :func:`file_digest`, :func:`artifact_digest`;
* errors: :class:`SignatureError` (exit 1), :class:`KeyFileError` (an InputError).
"""

from xtrust.crypto.dsse import pae, sign_dsse, verify_dsse
from xtrust.crypto.errors import (
    EnvelopeError,
    KeyFileError,
    SignatureError,
    StatementError,
    SubjectMismatchError,
    VerificationError,
)
from xtrust.crypto.handshake import (
    ChannelError,
    HandshakeError,
    HandshakeResult,
    SealedChannel,
    finish,
    initiate,
    qkd_key_id_of,
    respond,
)
from xtrust.crypto.hashes import artifact_digest, file_digest, normalise_digest, tree_digest
from xtrust.crypto.intoto import (
    INTOTO_PAYLOAD_TYPE,
    STATEMENT_TYPE,
    in_toto_statement,
    parse_statement,
    require_subject,
    sign_statement,
    verify_statement,
)
from xtrust.crypto.keys import (
    HybridKemPrivateKey,
    HybridKemPublicKey,
    HybridPublicKey,
    HybridSigningKey,
    KeyInfo,
    load_private_key,
    load_public_key,
    read_key_info,
)

__all__ = [
    "INTOTO_PAYLOAD_TYPE",
    "STATEMENT_TYPE",
    "ChannelError",
    "EnvelopeError",
    "HandshakeError",
    "HandshakeResult",
    "HybridKemPrivateKey",
    "HybridKemPublicKey",
    "HybridPublicKey",
    "HybridSigningKey",
    "KeyFileError",
    "KeyInfo",
    "SealedChannel",
    "SignatureError",
    "StatementError",
    "SubjectMismatchError",
    "VerificationError",
    "artifact_digest",
    "file_digest",
    "finish",
    "in_toto_statement",
    "initiate",
    "load_private_key",
    "load_public_key",
    "normalise_digest",
    "pae",
    "parse_statement",
    "qkd_key_id_of",
    "read_key_info",
    "require_subject",
    "respond",
    "sign_dsse",
    "sign_statement",
    "tree_digest",
    "verify_dsse",
    "verify_statement",
]
