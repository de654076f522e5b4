"""Hybrid classical + post-quantum cryptography and QKD key delivery."""
