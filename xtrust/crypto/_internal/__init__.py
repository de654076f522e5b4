"""Private helpers of :mod:`xtrust.crypto`; not a public API."""
