#!/usr/bin/env python3
"""Compile contracts/AppRegistry.sol into the artefact committed under xtrust/ledger/.

Uses the npm package ``solc`` pinned in package.json (``node_modules/.bin/solcjs``)
through its Standard JSON interface, with the optimizer and EVM target pinned so
that the output is byte-identical on every machine:

    python scripts/compile_contracts.py            # rewrite xtrust/ledger/AppRegistry.json
    python scripts/compile_contracts.py --check    # exit 1 if the committed file is stale
    python scripts/compile_contracts.py --output DIR

The EVM target is ``shanghai`` (PUSH0, no transient storage or MCOPY): py-evm's
Shanghai VM, anvil (``--hardfork shanghai``) and ganache 7 (whose newest fork it is) run it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOLCJS = ROOT / "node_modules" / ".bin" / "solcjs"
SOURCES = {"AppRegistry.sol": ROOT / "contracts" / "AppRegistry.sol"}
ARTEFACT = ROOT / "xtrust" / "ledger" / "AppRegistry.json"
SOLC_VERSION = "0.8.37"
EVM_VERSION = "shanghai"
OPTIMIZER_RUNS = 200


def standard_input() -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {name: {"content": path.read_text()} for name, path in SOURCES.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "evmVersion": EVM_VERSION,
            "metadata": {"bytecodeHash": "none"},
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def compile_artefact(solcjs: Path = SOLCJS) -> bytes:
    """Run solcjs and return the artefact bytes (JSON, sorted keys, trailing newline)."""
    if not solcjs.exists():
        raise SystemExit(f"{solcjs} not found: run `npm ci` (make node) first")
    version = subprocess.run(
        [str(solcjs), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not version.startswith(SOLC_VERSION + "+"):
        raise SystemExit(f"solcjs is {version}, expected {SOLC_VERSION} (see package.json)")
    proc = subprocess.run(
        [str(solcjs), "--standard-json"],
        input=json.dumps(standard_input()),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"solcjs failed: {proc.stderr.strip()}")
    out = json.loads(proc.stdout[proc.stdout.index("{") :])
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise SystemExit("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    contract = out["contracts"]["AppRegistry.sol"]["AppRegistry"]
    artefact = {
        "contractName": "AppRegistry",
        "compiler": {
            "name": "solc",
            "version": version,
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        },
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
    }
    return (json.dumps(artefact, indent=1, sort_keys=True) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the artefact is stale")
    parser.add_argument("--output", type=Path, help="write the artefact into this directory")
    args = parser.parse_args(argv)
    data = compile_artefact()
    if args.check:
        if not ARTEFACT.exists() or ARTEFACT.read_bytes() != data:
            print(f"{ARTEFACT} is stale: run `make contracts`", file=sys.stderr)
            return 1
        print(f"{ARTEFACT.relative_to(ROOT)} is up to date")
        return 0
    target = (args.output / ARTEFACT.name) if args.output else ARTEFACT
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".AppRegistry.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
