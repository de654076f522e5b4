"""E2 transport: SCTP where the kernel has it, TCP with 4-byte length framing otherwise."""
