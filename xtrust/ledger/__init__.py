"""Blockchain lifecycle registry for O-RAN apps."""
