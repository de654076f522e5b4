"""The anomaly and segmentation xApps at run time: detectors, the loop in the twin,
the HTTP and RMR interfaces, the CLI, and bad input counted and skipped."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from xtrust.e2sim.evaluate import episodes, evaluate
from xtrust.e2sim.twin import TwinConfig, run_twin, twin_policy
from xtrust.ric.rmr import Message
from xtrust.xapps.anomaly.alerts import AlertRecord, EpisodeGate
from xtrust.xapps.anomaly.app import AnomalyXApp, ControlWatch
from xtrust.xapps.segmentation import parse_policy, verify
from xtrust.xapps.segmentation.app import SegmentationXApp

T0 = 1_795_000_000.0


def test_control_watch_flags_a_burst_and_not_a_trickle() -> None:
    w = ControlWatch(window_s=1.0, burst=5)
    got = [w.update({"sender": "ts", "time": T0 + i, "allowed": True, "node": "g"}, "me")
           for i in range(20)]  # fmt: skip
    assert got == [None] * 20  # one per second: a normal app
    alerts = [w.update({"sender": "rogue", "time": T0 + i * 0.1, "node": "g"}, "me")
              for i in range(6)]  # fmt: skip
    assert alerts[:4] == [None] * 4
    first = alerts[4]
    assert first is not None and first.entity_id == "rogue"
    assert first.attack_class == "rogue-control" and first.entity_kind == "xapp"
    assert first.onset == T0


def test_control_watch_flags_denied_probing_and_refuses_garbage() -> None:
    w = ControlWatch(window_s=1.0, burst=50, denied_burst=3)
    out = [w.update({"sender": "x", "time": T0 + i * 0.1, "allowed": False}, "me")
           for i in range(3)]  # fmt: skip
    assert out[2] is not None and out[2].score == 1.0
    with pytest.raises(ValueError):
        w.update({"time": T0}, "me")


def test_episode_gate_alerts_once_per_episode() -> None:
    g = EpisodeGate(quiet_s=10)
    assert g.admit("a", 0) and not g.admit("a", 5) and not g.admit("a", 14)
    assert g.admit("a", 30) and g.admit("b", 30)


def test_evaluate_matches_alerts_to_episodes() -> None:
    gt = [
        {"time": 100.0, "node": "n", "cell": 1, "ue": None, "label": "jamming", "event": "start"},
        {"time": 160.0, "node": "n", "cell": 1, "ue": None, "label": "jamming", "event": "end"},
        {"time": 200.0, "node": "n", "cell": 2, "ue": 7, "label": "blind-dos", "event": "start"},
        {"time": 200.0, "node": "n", "cell": 2, "ue": 8, "label": "blind-dos", "event": "start"},
        {"time": 230.0, "node": "n", "cell": 2, "ue": 7, "label": "blind-dos", "event": "end"},
        {"time": 240.0, "node": "n", "cell": 2, "ue": 8, "label": "blind-dos", "event": "end"},
        {"time": 300.0, "node": "n", "cell": 1, "ue": None, "label": "rogue-xapp", "event": "start"},
        {"time": 300.0, "node": "n", "cell": 2, "ue": None, "label": "rogue-xapp", "event": "start"},
        {"time": 310.0, "node": "n", "cell": 1, "ue": None, "label": "rogue-xapp", "event": "end"},
        {"time": 310.0, "node": "n", "cell": 2, "ue": None, "label": "rogue-xapp", "event": "end"},
    ]  # fmt: skip
    eps = episodes(gt)
    assert [(e.label, e.cell, e.start, e.end) for e in eps] == [
        ("jamming", 1, 100.0, 160.0), ("blind-dos", 2, 200.0, 240.0),
        ("rogue-xapp", None, 300.0, 310.0),
    ]  # fmt: skip

    def a(kind: str, ident: str, cls: str, t: float) -> dict[str, Any]:
        return AlertRecord(kind, ident, cls, 2.0, t, node="n").to_json()  # type: ignore[arg-type]

    alerts = [a("cell", "n/1", "ue-flood", 101), a("cell", "n/1", "jamming", 102),
              a("ue", "2/8", "blind-dos", 205), a("xapp", "r", "rogue-control", 300.5),
              a("cell", "n/2", "jamming", 500)]  # fmt: skip
    r = evaluate(gt, alerts, reports=10_000, period_s=1.0)
    by = {row["label"]: row for row in r["episodes"]}
    assert by["jamming"]["detected"] and not by["jamming"]["classified"]  # first alert: ue-flood
    assert by["jamming"]["delay_periods"] == 1.0
    assert by["blind-dos"]["classified"] and by["rogue-xapp"]["delay_s"] == 0.5
    assert r["false_alarms"] == 1 and r["false_alarms_per_10k_reports"] == 1.0
    assert r["detection_rate"] == 1.0 and r["classification_rate"] == pytest.approx(2 / 3, 1e-3)


def test_evaluate_ue_level_episode_starts_at_the_first_attacked_ue() -> None:
    # the attacker is switched on at 100 but first acts on a UE at 103.7; MobiFlow
    # stamps whole seconds, so the alert from that record says 103
    gt = [
        {"time": 100.0, "node": "n", "cell": 2, "ue": None, "label": "blind-dos", "event": "start"},
        {"time": 103.7, "node": "n", "cell": 2, "ue": 7, "label": "blind-dos", "event": "start"},
        {"time": 107.0, "node": "n", "cell": 2, "ue": 8, "label": "blind-dos", "event": "start"},
        {"time": 120.0, "node": "n", "cell": 2, "ue": None, "label": "blind-dos", "event": "end"},
        {"time": 121.0, "node": "n", "cell": 2, "ue": 7, "label": "blind-dos", "event": "end"},
        {"time": 125.0, "node": "n", "cell": 2, "ue": 8, "label": "blind-dos", "event": "end"},
        {"time": 200.0, "node": "n", "cell": 3, "ue": None, "label": "null-cipher", "event": "start"},
        {"time": 210.0, "node": "n", "cell": 3, "ue": None, "label": "null-cipher", "event": "end"},
    ]  # fmt: skip
    eps = episodes(gt)
    assert [(e.label, e.start, e.armed, e.acted, e.end) for e in eps] == [
        ("blind-dos", 103.7, 100.0, True, 125.0), ("null-cipher", 200.0, 200.0, False, 210.0),
    ]  # fmt: skip

    def a(ident: str, t: float) -> dict[str, Any]:
        return AlertRecord("ue", ident, "blind-dos", 1.2, t, node="n").to_json()

    r = evaluate(gt, [a("2/0", 103.0)], reports=100, period_s=1.0)
    row = r["episodes"][0]
    assert row["detected"] and row["delay_periods"] == 0.0 and row["armed"] == 100.0
    assert r["false_alarms"] == 0 and not r["episodes"][1]["detected"]
    late = evaluate(gt, [a("2/0", 107.0)], reports=100, period_s=1.0)["episodes"][0]
    assert late["delay_s"] == pytest.approx(3.3)
    # before the switch-on's second an alert is no detection but a false alarm
    early = evaluate(gt, [a("2/0", 99.0)], reports=100, period_s=1.0)
    assert not early["episodes"][0]["detected"] and early["false_alarms"] == 1
    # switched on at 100.4 and acting at once: the record says 100
    gt2 = [dict(e, time=e["time"] + 0.4) if e["time"] == 100.0 else e for e in gt]
    gt2[1] = dict(gt2[1], time=100.5)
    same_second = evaluate(gt2, [a("2/0", 100.0)], reports=100, period_s=1.0)
    assert same_second["episodes"][0]["detected"] and same_second["false_alarms"] == 0
    assert same_second["episodes"][0]["delay_s"] == 0.0


def test_evaluate_rogue_xapp_episode_starts_at_its_first_control() -> None:
    # launched at 300 (registration, E2 node look-up), first control at 301.6
    gt = [
        {"time": 300.0, "node": "n", "cell": 1, "ue": None, "label": "rogue-xapp", "event": "start"},
        {"time": 301.6, "node": "n", "cell": 1, "ue": None, "label": "rogue-xapp", "event": "act"},
        {"time": 310.0, "node": "n", "cell": 1, "ue": None, "label": "rogue-xapp", "event": "end"},
    ]  # fmt: skip
    (ep,) = episodes(gt)
    assert (ep.start, ep.armed, ep.end) == (301.6, 300.0, 310.0)
    alert = AlertRecord("xapp", "r", "rogue-control", 1.0, 302.0, node="n").to_json()
    row = evaluate(gt, [alert], reports=100, period_s=1.0)["episodes"][0]
    assert row["detected"] and row["delay_s"] == pytest.approx(0.4) and row["armed"] == 300.0
    # without the act event (the engine's own controls, no rogue app) it starts at 300
    (plain,) = episodes([e for e in gt if e["event"] != "act"])
    assert (plain.start, plain.armed) == (300.0, None)


def test_twin_policy_passes_verification() -> None:
    policy = parse_policy(twin_policy(["gnb_a", "gnb_b"]), "<twin>")
    assert verify(policy) == []


@pytest.mark.slow
def test_twin_loop_detects_and_quarantines_a_rogue_xapp(tmp_path: Path) -> None:
    scenario = tmp_path / "rogue.yaml"
    scenario.write_text("name: short-rogue\nduration: 40\nattacks:\n  - type: rogue-xapp\n"
                        "    onset: 15\n    duration: 10\n    targets: [{node: 0}]\n"
                        "    count: 100\n    rate: 10\n")  # fmt: skip
    cfg = TwinConfig(scenario=str(scenario), xapps=("anomaly", "segmentation"), nodes=1,
                     cells_per_node=2, ues_per_cell=5, speed=10.0, seed=1,
                     ground_truth=str(tmp_path / "gt.jsonl"), report=str(tmp_path / "r.json"))  # fmt: skip
    r = asyncio.run(run_twin(cfg))
    det = r["detection"]
    assert det["evaluated"] and det["episodes_total"] == 1
    ep = det["episodes"][0]
    # timed from its first control (its start-up, in wall time, comes before): the
    # fifth control in the 1 s window is 0.4 s later at 10/s; the goal is 2 periods
    assert ep["armed"] < ep["start"]
    assert ep["detected"] and ep["classified"] and ep["delay_periods"] <= 2
    assert ep["quarantine_delay_s"] <= 4.0
    assert [m["asset"] for m in det["quarantine"]] == ["rogue-xapp"]
    # quarantine stops the burst: most of the 100 controls never reach a node
    assert det["rogue_controls"]["ack"] < 50
    alerts = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert any(x["attack_class"] == "rogue-control" for x in alerts)
    audit = (tmp_path / "segmentation-audit.jsonl").read_text().splitlines()
    assert json.loads(audit[0])["asset"] == "rogue-xapp"


def _seg_config(tmp_path: Path, policy: Path) -> str:
    from xtrust.xapps.segmentation.app import DESCRIPTOR

    doc = json.loads(DESCRIPTOR.read_text())
    doc["controls"].update(policy=str(policy), audit_log=str(tmp_path / "audit.jsonl"),
                           output_dir=str(tmp_path / "enforce"))  # fmt: skip
    path = tmp_path / "config-file.json"
    path.write_text(json.dumps(doc))
    return str(path)


def _policy(tmp_path: Path) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(json.dumps(twin_policy(["gnb_a"])))
    return p


def test_segmentation_xapp_http_api_and_rmr_requests(tmp_path: Path) -> None:
    async def main() -> None:
        app = SegmentationXApp(config=_seg_config(tmp_path, _policy(tmp_path)), rmr_port=0,
                               http_port=0, host="127.0.0.1", env={}, ric="127.0.0.1:9")  # fmt: skip
        async with app, aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{app.http_port}"
            low = AlertRecord("xapp", "kpm-monitor", "rogue-control", 1.0, T0).to_json()
            async with http.post(f"{base}/v1/alerts", json=low) as resp:
                assert (await resp.json()) == {"quarantined": False}  # medium: below "high"
            high = AlertRecord("xapp", "kpm-monitor", "rogue-control", 3.0, T0).to_json()
            async with http.post(f"{base}/v1/alerts", json=high) as resp:
                assert (await resp.json()) == {"quarantined": True}
            async with http.post(f"{base}/v1/alerts", data=b"{") as resp:
                assert resp.status == 400
            async with http.post(f"{base}/v1/release", json={"asset": "kpm-monitor"}) as resp:
                assert resp.status == 400  # who releases is required
            async with http.post(f"{base}/v1/release",
                                 json={"asset": "kpm-monitor", "by": "noc"}) as resp:  # fmt: skip
                assert resp.status == 200
            async with http.post(f"{base}/v1/quarantine", json={"asset": "ric-lite"}) as resp:
                assert (await resp.json()) == {"quarantined": False}  # platform: protected
            # RMR: a quarantine request, then garbage (counted, not fatal)
            await app.on_quarantine_request(
                Message(
                    30102,
                    json.dumps(
                        {"asset": "rogue-xapp", "action": "quarantine", "reason": "test"}
                    ).encode(),
                )
            )
            await app.on_quarantine_request(Message(30102, b"\xff not json"))
            await app.on_alert_message(Message(30100, b'{"type": "nope"}'))
            async with http.get(f"{base}/v1/segmentation") as resp:
                state = await resp.json()
            assert state["quarantined"] == ["rogue-xapp"]
            assert app.counters["malformed_requests"] == 1
            assert app.counters["malformed_alerts"] == 1
        assert [m["action"] for m in app.moves] == ["quarantine", "release", "quarantine"]
        # each move timed until every enforcement point (here: hooks and files) had it
        assert all(0 < m["enforced_s"] < 1.0 for m in app.moves)
        metrics = app.metrics.render().decode()
        assert "xtrust_segmentation_enforce_seconds_count" in metrics
        assert 'xtrust_segmentation_enforce_seconds_bucket{le="1.0"} 3.0' in metrics
        routes = (tmp_path / "enforce" / "routes.rt").read_text()
        assert "newrt|start" in routes
        audit = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert [a["asset"] for a in audit] == ["kpm-monitor", "kpm-monitor", "rogue-xapp"]

    asyncio.run(main())


def test_anomaly_xapp_counts_and_skips_malformed_input(tmp_path: Path) -> None:
    async def main() -> None:
        app = AnomalyXApp(rmr_port=0, http_port=0, host="127.0.0.1", env={}, ric="127.0.0.1:9")
        app.on_mobiflow(["UE;garbage", "", "BS;1;2"])
        await app.on_control_report(Message(30101, b"[1, 2]"))
        await app.on_control_report(Message(30101, b"{not json"))
        app.on_control({"time": T0})  # no sender

        class Bad:
            header = None
            message = None

        app.on_kpm(("gnb", 1), Bad())  # type: ignore[arg-type]
        assert app.counters["malformed_control_reports"] == 3
        assert app.counters["malformed_indications"] == 1
        assert app.counters.get("malformed_mobiflow", 0) >= 1
        assert app.counters.get("alerts", 0) == 0

    asyncio.run(main())


def xtrust(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xtrust", *args], capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_xapp_cli_runs_and_refuses_bad_configs(tmp_path: Path) -> None:
    cfg = _seg_config(tmp_path, _policy(tmp_path))
    ok = xtrust("xapp", "run", "segmentation", "--config", cfg, "--duration", "0.3",
                "--ric", "127.0.0.1:9")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "enforce" / "networkpolicies.yaml").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    r = xtrust("xapp", "run", "anomaly", "--config", str(bad), "--duration", "0.3")
    assert r.returncode == 2 and "not valid JSON" in r.stderr and "Traceback" not in r.stderr
    r = xtrust("xapp", "run", "anomaly", "--config", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "no such file" in r.stderr
    # a policy that fails verification is refused: an untrusted app controlling the RAN
    doc = twin_policy(["gnb_a"])
    doc["zones"]["sandbox"] = {"trust": "untrusted"}
    doc["assets"]["rogue-xapp"]["zone"] = "sandbox"
    (tmp_path / "policy.yaml").write_text(json.dumps(doc))
    r = xtrust("xapp", "run", "segmentation", "--config", cfg, "--duration", "0.3")
    assert r.returncode != 0 and "violating path" in r.stderr


@pytest.mark.parametrize("app", ["anomaly", "segmentation"])
def test_deploy_descriptors_are_the_packaged_ones_and_valid(app: str) -> None:
    from xtrust.ric.descriptor import load_descriptor

    root = Path(__file__).resolve().parents[3]
    deployed = root / "deploy" / app / "config-file.json"
    packaged = root / "xtrust" / "xapps" / app / "config-file.json"
    assert deployed.read_text() == packaged.read_text()
    desc = load_descriptor(str(deployed))
    assert desc.name == f"xtrust-{app}"
    dockerfile = (root / "deploy" / app / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "FROM python:3.11.7-slim-bookworm" in dockerfile


def test_mobiflow_stream_waits_before_judging_an_absence() -> None:
    """An identity exchange is an attack only if authentication never follows: in a
    stream the rule waits until the records have moved on (no alert mid-procedure)."""
    from tests.xapps.anomaly.helpers import Builder

    ident = [("RRCSetupRequest", "", 0, 0, 0), ("RRCSetup", "", 2, 0, 0),
             ("RRCSetupComplete", "Registrationrequest", 2, 1, 0),
             ("DLInformationTransfer", "Identityrequest", 2, 1, 0),
             ("ULInformationTransfer", "Identityresponse", 2, 1, 0)]  # fmt: skip
    auth = ("DLInformationTransfer", "Authenticationrequest", 2, 1, 0)

    def run(follow_up: bool) -> list[str | None]:
        app = AnomalyXApp(rmr_port=0, http_port=0, host="127.0.0.1", env={}, ric="127.0.0.1:9")
        b = Builder()
        for msg in ident:
            b.add(7, msg, t=100.0)
        app.on_mobiflow([r.to_line() for r in b.records])
        assert app.counters.get("alerts", 0) == 0  # mid-procedure: not judged yet
        b2 = Builder()
        b2.records = list(b.records)
        if follow_up:
            b2.add(7, auth, t=101.0)
        for i in range(3):  # other UEs keep the stream going past the settle time
            b2.add(50 + i, ident[0], t=103.0 + 2 * i)
        app.on_mobiflow([r.to_line() for r in b2.records[len(b.records) :]])
        return [a.attack_class for a in app.alerts]

    assert run(follow_up=True) == []
    assert run(follow_up=False) == ["identity-extraction"]


def test_segmentation_follows_the_risk_engines_a1_quarantine_list(tmp_path: Path) -> None:
    from xtrust.ric.a1 import Policy

    async def main() -> None:
        app = SegmentationXApp(config=_seg_config(tmp_path, _policy(tmp_path)), rmr_port=0,
                               http_port=0, host="127.0.0.1", env={}, ric="127.0.0.1:9")  # fmt: skip

        def pol(op: str, listed: list[str]) -> Policy:
            return Policy(op, 20100, "xtrust-risk", {"risk_threshold": 70, "quarantine": listed})  # type: ignore[arg-type]

        await app.on_policy(pol("CREATE", ["rogue-xapp", "no-such-asset"]))
        assert app.segmentation.compiled.quarantined == {"rogue-xapp"}
        await app.on_policy(pol("UPDATE", ["kpm-monitor"]))
        assert app.segmentation.compiled.quarantined == {"kpm-monitor"}
        await app.on_policy(pol("DELETE", []))
        assert app.segmentation.compiled.quarantined == set()
        assert app.counters["a1_unknown_assets"] == 1
        assert [m["actor"] for m in app.moves] == ["a1:xtrust-risk"] * 4

    asyncio.run(main())


@pytest.mark.slow
def test_twin_zero_trust_loop_alert_risk_deny_quarantine(tmp_path: Path) -> None:
    """Issue 9's loop: the anomaly xApp's alert raises the rogue xApp's risk, the PDP
    denies its next controls at RIC-lite's admission, the XDR playbook quarantines it."""
    scenario = tmp_path / "rogue.yaml"
    scenario.write_text("name: short-rogue\nduration: 40\nattacks:\n  - type: rogue-xapp\n"
                        "    onset: 15\n    duration: 10\n    targets: [{node: 0}]\n"
                        "    count: 100\n    rate: 10\n")  # fmt: skip
    cfg = TwinConfig(scenario=str(scenario), xapps=("anomaly", "segmentation"),
                     rapps=("policy", "xdr"), nodes=1, cells_per_node=2, ues_per_cell=5,
                     speed=10.0, seed=2, ground_truth=str(tmp_path / "gt.jsonl"))  # fmt: skip
    r = asyncio.run(run_twin(cfg))
    steps = r["response"]["steps"]
    first = {}
    for s in steps:
        first.setdefault(s["step"], s)
    assert {"alert", "risk", "control-denied", "playbook"} <= set(first)
    assert first["risk"]["subject"] == "rogue-xapp" and first["risk"]["risk"] >= 15
    assert first["alert"]["time"] <= first["control-denied"]["time"] <= first["playbook"]["time"]
    assert (
        first["playbook"]["action"] == "quarantine"
        and first["playbook"]["target"] == "xapp:rogue-xapp"
    )
    assert [m["asset"] for m in r["detection"]["quarantine"]] == ["rogue-xapp"]
    assert (tmp_path / "xdr-audit.jsonl").exists()


def test_twin_refuses_rapps_without_their_xapps() -> None:
    from xtrust.errors import InputError

    with pytest.raises(InputError, match="needs the anomaly"):
        TwinConfig(xapps=("kpmmon",), rapps=("policy",)).validate()
    with pytest.raises(InputError, match="segmentation"):
        TwinConfig(xapps=("anomaly",), rapps=("xdr",)).validate()
    with pytest.raises(InputError, match="unknown rApp"):
        TwinConfig(xapps=("anomaly",), rapps=("soar",)).validate()


def test_anomaly_xapp_scores_periods_with_the_multivariate_detector_when_enabled(
    tmp_path: Path,
) -> None:
    import random
    from dataclasses import dataclass as dc

    from xtrust.e2sim.model import Cell, connect_cells
    from xtrust.e2sim.scenarios import ScenarioEngine, load_scenario
    from xtrust.errors import ConfigError
    from xtrust.xapps.anomaly.app import DESCRIPTOR

    doc = json.loads(DESCRIPTOR.read_text())
    doc["controls"]["kpm_multivariate"] = {"enabled": True, "p_value": 1e-5}
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(doc))

    @dc
    class Header:
        unix_time: float

    @dc
    class Msg:
        values: dict[str, Any]

        def rows(self) -> list[dict[str, Any]]:
            return [self.values]

    @dc
    class Ind:
        header: Header
        message: Msg

    async def main() -> None:
        app = AnomalyXApp(config=str(cfg), rmr_port=0, http_port=0, host="127.0.0.1", env={},
                          ric="127.0.0.1:9")  # fmt: skip
        assert app.mv is not None
        rng = random.Random(3)
        cells = [Cell(0x110 + i, pci=i, rng=random.Random(rng.random())) for i in range(2)]
        for c in cells:
            for _ in range(10):
                c.add_ue()
        connect_cells(cells)
        engine = ScenarioEngine(load_scenario("ue-flood"), {"gnb_a": cells}, seed=3)
        t = 1.7e9
        for _ in range(180):
            t += 1.0
            engine.tick(t)
            for c in cells:
                c.step(t, 1.0)
            for c in cells:
                app.on_kpm(("gnb_a", c.cell_id), Ind(Header(t), Msg(c.measurements())))  # type: ignore[arg-type]
        engine.close(t)
        assert len(app.mv) == 2 and not app._batches.get(t - 1)
        assert any(a.attack_class == "ue-flood" for a in app.alerts)

    asyncio.run(main())
    doc["controls"]["kpm_multivariate"] = {"enabled": True, "bogus": 1}
    cfg.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="kpm_multivariate"):
        AnomalyXApp(config=str(cfg), rmr_port=0, http_port=0, host="127.0.0.1", env={})
