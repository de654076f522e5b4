"""SDL namespace rules enforced by Redis ACLs, against a real redis-server: each app
reads and writes only what its flows allow, and a quarantine takes the rest away."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.ric.conftest import RedisServer, redis_server  # noqa: F401 (fixture)
from xtrust.errors import XTrustError
from xtrust.ric.sdl import RedisSdl
from xtrust.xapps.segmentation import Segmentation, load_policy

POLICY = Path(__file__).resolve().parents[3] / "examples" / "segmentation" / "policy.yaml"


def apply(server: RedisServer, seg: Segmentation) -> None:
    for args in seg.compiled.redis_acl():
        assert server.command("ACL", "SETUSER", *args) == b"+OK", args


def test_redis_acl_enforces_the_sdl_rules_and_quarantine(redis_server: RedisServer) -> None:  # noqa: F811
    seg = Segmentation(load_policy(POLICY))
    apply(redis_server, seg)
    for app in ("kpimon", "dashboard", "ts"):
        assert redis_server.command("ACL", "SETUSER", app, f">pw-{app}") == b"+OK"

    def url(app: str) -> str:
        return f"redis://{app}:pw-{app}@{redis_server.host}:{redis_server.port}/0"

    async def main() -> None:
        kpimon, dash, ts = RedisSdl(url("kpimon")), RedisSdl(url("dashboard")), RedisSdl(url("ts"))
        try:
            await kpimon.set("kpm-data", {"cell-1": b"42"})
            assert await dash.get("kpm-data", "cell-1") == {"cell-1": b"42"}
            assert await ts.get("kpm-data", "cell-1") == {"cell-1": b"42"}
            await dash.set("dash-data", {"view": b"x"})
            with pytest.raises(XTrustError):  # read-only for the dashboard
                await dash.set("kpm-data", {"cell-1": b"0"})
            with pytest.raises(XTrustError):  # not the monitor's namespace
                await kpimon.get("dash-data", "view")
            with pytest.raises(XTrustError):  # no flow at all
                await ts.get("dash-data", "view")
            # the dashboard is quarantined: the KPIs are gone, its own data read-only
            seg.quarantine("dashboard", "anomaly", actor="test")
            apply(redis_server, seg)
            with pytest.raises(XTrustError):
                await dash.get("kpm-data", "cell-1")
            assert await dash.get("dash-data", "view") == {"view": b"x"}
            with pytest.raises(XTrustError):
                await dash.set("dash-data", {"view": b"y"})
            seg.release("dashboard", by="noc")
            apply(redis_server, seg)
            assert await dash.get("kpm-data", "cell-1") == {"cell-1": b"42"}
        finally:
            for c in (kpimon, dash, ts):
                await c.close()

    try:
        asyncio.run(main())
    finally:
        for app in ("kpimon", "dashboard", "ts", "nonrtric"):
            redis_server.command("ACL", "DELUSER", app)
        redis_server.flush()


def test_redis_acl_arguments_follow_the_flows() -> None:
    acl = {args[0]: args for args in Segmentation(load_policy(POLICY)).compiled.redis_acl()}
    assert "%W~{kpm-data},*" in acl["kpimon"]  # the monitor only writes the KPIs
    assert "%R~{kpm-data},*" in acl["dashboard"] and "~{dash-data},*" in acl["dashboard"]
    assert "%R~{kpm-data},*" in acl["ts"]
    assert "nonrtric" not in acl  # the SMO is not an app of the RIC's SDL
    for args in acl.values():
        assert args[1:5] == ["on", "resetkeys", "resetchannels", "-@all"]
