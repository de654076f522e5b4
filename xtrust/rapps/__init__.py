"""Non-RT security apps (risk-based policy engine, threat model, XDR)."""
