"""XTRUST: zero-trust security toolkit for O-RAN and 6G.

Subpackages follow the product (see docs/architecture.md):

- :mod:`xtrust.ric`      the xApp/rApp SDK: ASN.1 codecs, RMR, E2 transport, RIC-lite
- :mod:`xtrust.e2sim`    E2 node simulator and digital twin
- :mod:`xtrust.xapps`    security xApps
- :mod:`xtrust.rapps`    non-RT security apps
- :mod:`xtrust.certify`  supply-chain scanning and certification
- :mod:`xtrust.ledger`   blockchain lifecycle registry
- :mod:`xtrust.crypto`   hybrid classical + post-quantum cryptography
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
