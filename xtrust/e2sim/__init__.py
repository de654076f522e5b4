"""E2 node simulator and digital twin of the RAN."""
