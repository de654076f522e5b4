"""transport="auto" / "sctp" / "tcp": what gets picked, and the error when SCTP is missing."""

from __future__ import annotations

import pytest

from tests.ric.e2.util import LOOPBACK, run
from xtrust.errors import ExternalToolError, InputError, XTrustError
from xtrust.ric import e2
from xtrust.ric.e2 import E2Connection, SctpUnavailableError, resolve_transport
from xtrust.ric.e2 import transport as transport_module

MISSING = "socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) failed: Protocol not supported"


def no_sctp_here() -> None:
    if e2.sctp_available():
        pytest.skip("this kernel has SCTP: the fallback cannot be observed here")


def test_explicit_tcp_is_tcp() -> None:
    assert resolve_transport("tcp") == "tcp"


def test_auto_follows_the_kernel() -> None:
    assert resolve_transport("auto") == ("sctp" if e2.sctp_available() else "tcp")


def test_auto_without_sctp_is_tcp_and_forced_sctp_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transport_module, "sctp_unavailable_reason", lambda: MISSING)
    assert resolve_transport("auto") == "tcp"
    with pytest.raises(SctpUnavailableError) as info:
        resolve_transport("sctp")
    err = info.value
    assert isinstance(err, ExternalToolError) and isinstance(err, XTrustError)
    assert str(err) == f"sctp: kernel SCTP is not available ({MISSING})"
    assert "modprobe sctp" in (err.hint or "") and "transport='tcp'" in (err.hint or "")
    assert "Hint:" in err.diagnostics()


def test_auto_with_sctp_is_sctp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport_module, "sctp_unavailable_reason", lambda: None)
    assert resolve_transport("auto") == "sctp"
    assert resolve_transport("sctp") == "sctp"


def test_unknown_transport_is_input_error() -> None:
    with pytest.raises(InputError, match="expected auto, sctp or tcp"):
        resolve_transport("quic")


def test_auto_falls_back_to_tcp_on_this_machine() -> None:
    no_sctp_here()

    async def echo(conn: E2Connection) -> None:
        async for pdu in conn:
            await conn.send(pdu)

    async def main() -> None:
        async with await e2.serve(echo, LOOPBACK, 0) as server:
            assert server.transport == "tcp"
            conn = await e2.connect(LOOPBACK, server.port)
            assert conn.transport == "tcp"
            await conn.send(b"auto")
            assert await conn.recv() == b"auto"
            conn.close()

    run(main())


def test_forcing_sctp_on_this_machine_fails_clearly() -> None:
    no_sctp_here()

    async def handler(conn: E2Connection) -> None:
        return None

    async def main() -> None:
        with pytest.raises(SctpUnavailableError, match=r"^sctp: kernel SCTP is not available"):
            await e2.serve(handler, LOOPBACK, 0, transport="sctp")
        with pytest.raises(SctpUnavailableError, match=r"^sctp: kernel SCTP is not available"):
            await e2.connect(LOOPBACK, 36421, transport="sctp")

    run(main())
