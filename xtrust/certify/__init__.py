"""Supply-chain scanning and certification of O-RAN apps."""
