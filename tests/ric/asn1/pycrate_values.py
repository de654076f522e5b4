"""Helpers shared by the codec tests: pycrate cross-checks and the fuzz oracle."""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def compile_with_pycrate(asn_file: Path, out_dir: Path, module_name: str) -> ModuleType:
    """Compile ``asn_file`` with pycrate's compiler (in a subprocess, so its
    global state stays out of this process) and import the generated module."""
    out = out_dir / f"{module_name}.py"
    script = (
        "import sys\n"
        "from pycrate_asn1c.asnproc import compile_text, generate_modules, PycrateGenerator\n"
        "compile_text(open(sys.argv[1]).read())\n"
        "generate_modules(PycrateGenerator, sys.argv[2])\n"
    )
    subprocess.run([sys.executable, "-c", script, str(asn_file), str(out)], check=True, timeout=120)
    spec = importlib.util.spec_from_file_location(module_name, out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def to_pycrate(value: Any) -> Any:
    """asn1tools conventions -> pycrate's: BIT STRING (int, nbits), NULL 0."""
    if isinstance(value, dict):
        return {k: to_pycrate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_pycrate(v) for v in value]
    if isinstance(value, tuple):
        if len(value) == 2 and isinstance(value[0], bytes) and isinstance(value[1], int):
            data, nbits = value
            return (int.from_bytes(data, "big") >> (len(data) * 8 - nbits), nbits)
        if value == ("noValue", None):
            return ("noValue", 0)
        return tuple(to_pycrate(v) for v in value)
    return value


def from_pycrate(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: from_pycrate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_pycrate(v) for v in value]
    if isinstance(value, tuple):
        if len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
            n = value[1]
            pad = (-n) & 7
            return ((value[0] << pad).to_bytes((n + pad) // 8, "big"), n)
        if value == ("noValue", 0):
            return ("noValue", None)
        return tuple(from_pycrate(v) for v in value)
    return value


def pycrate_encode(module: Any, type_name: str, value: Any) -> bytes:
    obj = getattr(module, type_name.replace("-", "_"))
    obj.set_val(to_pycrate(value))
    return bytes(obj.to_aper())


def pycrate_decode(module: Any, type_name: str, data: bytes) -> Any:
    obj = getattr(module, type_name.replace("-", "_"))
    obj.from_aper(data)
    return from_pycrate(obj.get_val())


def decodes_or_raises_decode_error(decoder: Any, data: bytes) -> None:
    """The fuzz oracle: a decoder either decodes or raises DecodeError, nothing else."""
    from xtrust.errors import DecodeError

    with contextlib.suppress(DecodeError):
        decoder(data)
