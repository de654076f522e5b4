"""Pure-Python RMR (O-RAN SC RIC Message Router), SI95 wire format."""
