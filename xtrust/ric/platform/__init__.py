"""RIC-lite: a small near-RT RIC (E2 termination, subscription manager, routing, A1)."""
