"""Shipped rule files: the semgrep XTRUST rule pack, JSON schemas, the default policy."""
