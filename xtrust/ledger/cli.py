"""``xtrust ledger ...`` and ``xtrust admit ...``.

Every command takes ``--rpc URL`` (a JSON-RPC node) or ``--data-dir DIR`` (the
embedded chain; default :func:`~xtrust.ledger.session.default_data_dir`),
``--account KEYSTORE_FILE`` (default: the data dir's default keystore) and
``--contract ADDRESS`` (default: the address ``ledger init`` recorded).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from xtrust._files import write_atomic
from xtrust.crypto import HybridPublicKey, artifact_digest, load_public_key
from xtrust.errors import InputError, XTrustError
from xtrust.ledger.admit import Admission
from xtrust.ledger.attestation import check_attestation, load_attestation
from xtrust.ledger.client import AppRecord, TxResult
from xtrust.ledger.errors import AttestationError, LedgerError
from xtrust.ledger.merkle import InclusionProof, inclusion_proof, leaf_hash, verify_inclusion
from xtrust.ledger.session import Ledger, default_data_dir, init_ledger, open_ledger

__all__ = ["admit", "ledger"]

F = TypeVar("F", bound=Callable[..., Any])

#: gas money the embedded chain's admin gives an account it grants a role to
EMBEDDED_GRANT_FUNDING = 10**21


def _connection_options(func: F) -> F:
    options = [
        click.option("--rpc", metavar="URL", help="Ethereum JSON-RPC endpoint (else embedded)."),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Embedded ledger / local state directory [default: $XTRUST_LEDGER_DIR or "
            "~/.local/share/xtrust/ledger].",
        ),
        click.option(
            "--account",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Keystore file of the account to act as (passphrase from "
            "$XTRUST_LEDGER_PASSPHRASE).",
        ),
        click.option("--contract", metavar="ADDRESS", help="AppRegistry address."),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _open(kw: dict[str, Any], *, need_account: bool = True) -> Ledger:
    return open_ledger(
        rpc=kw["rpc"],
        data_dir=kw["data_dir"],
        account=kw["account"],
        contract=kw["contract"],
        need_account=need_account,
        read_only=not need_account,
    )


def _emit(fmt: str, doc: Any, text: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(doc, indent=1, sort_keys=True, default=str))
    else:
        click.echo(text)


def _tx_doc(result: TxResult) -> dict[str, Any]:
    return {
        "tx": result.transaction_hash,
        "block": result.block_number,
        "gasUsed": result.gas_used,
        "events": [e.to_dict() for e in result.events],
    }


def _tx_line(what: str, result: TxResult) -> str:
    return (
        f"{what} (tx {result.transaction_hash}, block {result.block_number}, gas {result.gas_used})"
    )


def _state_line(result: TxResult) -> str:
    parts = []
    for event in result.events:
        if event.name == "ApprovalRecorded":
            parts.append(f"approval {event.args['approvals']}/{event.args['threshold']}")
        if event.name == "StateChanged":
            parts.append(f"{event.args['from']} -> {event.args['to']}")
    return ", ".join(parts) or "done"


def _parse_name(spec: str) -> tuple[str, str | None]:
    name, sep, version = spec.partition("@")
    if not name or (sep and not version):
        raise InputError(f"expected NAME or NAME@VERSION, got {spec!r}")
    return name, (version if sep else None)


def _record_text(r: AppRecord) -> str:
    return "\n".join(
        [
            f"{r.name}@{r.version}: {r.state}",
            f"  artifact     {r.artifact}",
            f"  attestation  {r.attestation or '-'}",
            f"  certifier    {r.certifier or '-'}",
            f"  submitter    {r.submitter}",
            f"  approvals    {r.approvals}",
            f"  updated      {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(r.updated_at))}",
        ]
    )


def _digest_of(target: str) -> str:
    digest: str = artifact_digest(target)
    return digest


def _load_key(path: Path) -> HybridPublicKey:
    return load_public_key(path, kind="sign")


# ===================================================================== ledger
@click.group()
def ledger() -> None:
    """Anchor app certification and approval on an EVM ledger (AppRegistry)."""


@ledger.command("init")
@_connection_options
@click.option(
    "--kdf-n",
    type=int,
    default=None,
    hidden=False,
    help="scrypt cost of a new keystore (default 2**18; lower only for tests).",
)
def init_cmd(kdf_n: int | None, fmt: str, **kw: Any) -> None:
    """Create the account (if none), the chain (embedded) and deploy AppRegistry.

    On a fresh embedded ledger the initialising account holds every role and the
    approval threshold is 1, so one person can run the whole flow.
    """
    if kw["contract"]:
        raise InputError("--contract is not used by init (it deploys a new contract)")
    lg, created = init_ledger(
        rpc=kw["rpc"], data_dir=kw["data_dir"], account=kw["account"], scrypt_n=kdf_n
    )
    with lg:
        acct = lg.client.account
        doc = {
            "created": created,
            "contract": lg.client.address,
            "chainId": lg.backend.chain_id(),
            "backend": lg.backend.description,
            "account": acct.address if acct else None,
            "dataDir": str(lg.data_dir),
        }
        verb = "deployed" if created else "already initialised:"
        _emit(
            fmt,
            doc,
            f"{verb} AppRegistry {lg.client.address} on {lg.backend.description} "
            f"(chain {doc['chainId']}); account {doc['account']} holds admin, certifier "
            "and operator",
        )


@ledger.command("account")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the new keystore file.",
)
@click.option("--kdf-n", type=int, default=None, help="scrypt cost (default 2**18).")
def account_cmd(out: Path, kdf_n: int | None) -> None:
    """Create a new account as an encrypted keystore file (passphrase from the env)."""
    from xtrust.ledger.accounts import create_keystore

    path, acct = create_keystore(out, scrypt_n=kdf_n)
    click.echo(f"{acct.address} {path}")


@ledger.group("roles")
def roles() -> None:
    """Grant or revoke admin, certifier and operator roles (admin only)."""


@roles.command("grant")
@click.argument("role", type=click.Choice(["admin", "certifier", "operator"]))
@click.argument("address")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="With certifier: also register this hybrid public key (.pub) for it.",
)
@_connection_options
def grant_cmd(role: str, address: str, key_path: Path | None, fmt: str, **kw: Any) -> None:
    """Grant ROLE to ADDRESS."""
    from xtrust.ledger.backends.embedded import EmbeddedBackend

    with _open(kw) as lg:
        if key_path is not None and role != "certifier":
            raise InputError("--key applies to the certifier role only")
        pub = _load_key(key_path) if key_path else None
        results = [lg.client.grant_role(role, address)]
        if isinstance(lg.backend, EmbeddedBackend) and lg.backend.balance(address) == 0:
            results.append(lg.client.transfer(address, EMBEDDED_GRANT_FUNDING))
        if pub is not None:
            lg.store.put_key(pub)
            results.append(lg.client.register_certifier_key(address, pub.key_id))
        _emit(
            fmt,
            [_tx_doc(r) for r in results],
            _tx_line(f"granted {role} to {address}", results[0])
            + (f"; registered key {pub.key_id}" if pub else ""),
        )


@roles.command("revoke")
@click.argument("role", type=click.Choice(["admin", "certifier", "operator"]))
@click.argument("address")
@_connection_options
def revoke_role_cmd(role: str, address: str, fmt: str, **kw: Any) -> None:
    """Revoke ROLE from ADDRESS."""
    with _open(kw) as lg:
        result = lg.client.revoke_role(role, address)
        _emit(fmt, _tx_doc(result), _tx_line(f"revoked {role} from {address}", result))


@roles.command("show")
@click.argument("address")
@_connection_options
def show_roles_cmd(address: str, fmt: str, **kw: Any) -> None:
    """Show the roles and registered key of ADDRESS, and the approval threshold."""
    with _open(kw, need_account=False) as lg:
        doc: dict[str, Any] = {
            "address": address,
            "roles": [
                r for r in ("admin", "certifier", "operator") if lg.client.has_role(r, address)
            ],
            "certifierKey": lg.client.certifier_key(address),
            "approvalThreshold": lg.client.threshold(),
        }
        _emit(
            fmt,
            doc,
            f"{address}: roles {', '.join(doc['roles']) or '-'}; key {doc['certifierKey'] or '-'}; "
            f"approval threshold {doc['approvalThreshold']}",
        )


@ledger.command("threshold")
@click.argument("approvals", type=int)
@_connection_options
def threshold_cmd(approvals: int, fmt: str, **kw: Any) -> None:
    """Set the number of operator approvals an app needs (k of n, admin only)."""
    with _open(kw) as lg:
        result = lg.client.set_threshold(approvals)
        _emit(fmt, _tx_doc(result), _tx_line(f"approval threshold set to {approvals}", result))


@ledger.group("keys")
def keys() -> None:
    """Certifier public keys (the ledger stores their key ids)."""


@keys.command("register")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="Hybrid public key file (.pub) of the certifier.",
)
@click.option("--certifier", metavar="ADDRESS", help="Certifier address [default: the account].")
@_connection_options
def keys_register_cmd(key_path: Path, certifier: str | None, fmt: str, **kw: Any) -> None:
    """Register a certifier's hybrid public key (admin only)."""
    with _open(kw) as lg:
        pub = _load_key(key_path)
        who = certifier or (lg.client.account.address if lg.client.account else "")
        lg.store.put_key(pub)
        result = lg.client.register_certifier_key(who, pub.key_id)
        _emit(fmt, _tx_doc(result), _tx_line(f"registered {pub.key_id} for {who}", result))


def _lifecycle_options(func: F) -> F:
    func = click.option("--version", "version", required=True, help="App version.")(func)
    func = click.option("--name", required=True, help="App name.")(func)
    return func


@ledger.command("submit")
@_lifecycle_options
@click.option("--artifact", required=True, help="Artifact path (dir, image, file) or sha256:...")
@_connection_options
def submit_cmd(name: str, version: str, artifact: str, fmt: str, **kw: Any) -> None:
    """Register NAME@VERSION with its artifact digest (state Submitted)."""
    digest = _digest_of(artifact)
    with _open(kw) as lg:
        result = lg.client.submit(name, version, digest)
        doc = {**_tx_doc(result), "artifact": digest}
        _emit(fmt, doc, _tx_line(f"{name}@{version} submitted, artifact {digest}", result))


@ledger.command("certify")
@_lifecycle_options
@click.option(
    "--attestation",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="DSSE envelope from `xtrust certify --sign`.",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Certifier public key [default: the registered one from the data dir].",
)
@_connection_options
def certify_cmd(
    name: str, version: str, attestation: Path, key_path: Path | None, fmt: str, **kw: Any
) -> None:
    """Record a verified, passing attestation for NAME@VERSION (certifier only)."""
    with _open(kw) as lg:
        client = lg.client
        assert client.account is not None
        record = client.app(name, version)
        if record is None:
            raise InputError(
                f"{name}@{version} is not on the ledger", hint="run `xtrust ledger submit` first"
            )
        key_id = client.certifier_key(client.account.address)
        if key_id is None:
            raise AttestationError(
                f"the certifier {client.account.address} has no registered public key",
                hint="run `xtrust ledger keys register --key PUB` (admin)",
            )
        pub = _load_key(key_path) if key_path else lg.store.get_key(key_id)
        if pub is None:
            raise AttestationError(
                f"public key {key_id} is not in {lg.store.key_dir}", hint="pass --key PUB"
            )
        if pub.key_id != key_id:
            raise AttestationError(f"--key is {pub.key_id}, the registered key is {key_id}")
        att = load_attestation(attestation)
        check_attestation(att, pub, record.artifact)
        lg.store.put(att)
        result = client.certify(name, version, att.digest)
        doc = {**_tx_doc(result), "attestation": att.digest}
        _emit(
            fmt,
            doc,
            _tx_line(
                f"{name}@{version} certified ({_state_line(result)}), attestation {att.digest}",
                result,
            ),
        )


def _transition(action: str, doc: str, with_reason: bool) -> None:
    def command(name: str, version: str, fmt: str, reason: str = "", **kw: Any) -> None:
        with _open(kw) as lg:
            method = {
                "approve": lambda: lg.client.approve(name, version),
                "deploy": lambda: lg.client.deploy_app(name, version),
                "suspend": lambda: lg.client.suspend(name, version, reason),
                "resume": lambda: lg.client.resume(name, version, reason),
                "revoke": lambda: lg.client.revoke(name, version, reason),
            }[action]
            result = method()
            _emit(
                fmt, _tx_doc(result), _tx_line(f"{name}@{version}: {_state_line(result)}", result)
            )

    command.__doc__ = doc
    command = _connection_options(command)
    if with_reason:
        command = click.option("--reason", default="", help="Why (recorded in the event).")(command)
    command = _lifecycle_options(command)
    ledger.command(action)(command)


_transition("approve", "Approve a certified NAME@VERSION (operator; k-of-n).", False)
_transition("deploy", "Mark an approved NAME@VERSION as deployed (operator).", False)
_transition("suspend", "Suspend an approved or deployed NAME@VERSION (operator).", True)
_transition("resume", "Lift a suspension: back to Approved (operator).", True)
_transition("revoke", "Revoke NAME@VERSION for good (operator or admin; terminal).", True)


@ledger.command("status")
@click.argument("spec", metavar="NAME[@VERSION]")
@_connection_options
def status_cmd(spec: str, fmt: str, **kw: Any) -> None:
    """Show the record of NAME@VERSION, or of every version of NAME."""
    name, version = _parse_name(spec)
    with _open(kw, need_account=False) as lg:
        if version is not None:
            record = lg.client.app(name, version)
            records = [record] if record else []
        else:
            records = lg.client.versions(name)
        if not records:
            raise InputError(f"{spec} is not on the ledger")
        _emit(fmt, [r.to_dict() for r in records], "\n".join(_record_text(r) for r in records))


@ledger.command("history")
@click.argument("name")
@_connection_options
def history_cmd(name: str, fmt: str, **kw: Any) -> None:
    """Every event of every version of NAME, oldest first."""
    with _open(kw, need_account=False) as lg:
        events = lg.client.history(name)
        if not events:
            raise InputError(f"{name} has no history on the ledger")
        lines = []
        for e in events:
            a = e.args
            if e.name == "StateChanged":
                what = f"{a['from']} -> {a['to']} by {a['by']}"
                what += f" ({a['reason']})" if a["reason"] else ""
            elif e.name == "AppSubmitted":
                what = f"submitted {a['name']}@{a['version']} artifact sha256:{a['artifact'].hex()}"
            elif e.name == "AppCertified":
                what = f"certified by {a['certifier']} attestation sha256:{a['attestation'].hex()}"
            else:
                what = f"approval {a['approvals']}/{a['threshold']} by {a['operator']}"
            lines.append(f"block {e.block_number:>6}  key {a['key'].hex()[:12]}  {what}")
        _emit(fmt, [e.to_dict() for e in events], "\n".join(lines))


@ledger.command("verify")
@click.argument("target", metavar="TARGET|DIGEST")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Certifier public key [default: from the data dir].",
)
@_connection_options
@click.pass_context
def verify_cmd(ctx: click.Context, target: str, key_path: Path | None, fmt: str, **kw: Any) -> None:
    """Find the record of an artifact and check its attestation (exit 1 if it fails)."""
    digest = _digest_of(target)
    with _open(kw, need_account=False) as lg:
        record = lg.client.app_by_artifact(digest)
        if record is None:
            _emit(fmt, {"digest": digest, "record": None}, f"{digest}: not on the ledger")
            ctx.exit(1)
        assert record is not None
        admission = Admission(lg.client, lg.store, max_staleness=0)
        key = _load_key(key_path) if key_path else None
        try:
            admission.check_record(
                record,
                lg.client.certifier_key(record.certifier) if record.certifier else None,
                key=key,
            )
            check, ok = "attestation verifies", True
        except (AttestationError, InputError) as exc:
            check, ok = f"attestation check failed: {exc}", False
        _emit(
            fmt,
            {"digest": digest, "record": record.to_dict(), "check": check},
            _record_text(record) + f"\n  check        {check}",
        )
        if not ok:
            ctx.exit(1)


def _write_json(path: Path, doc: Any) -> None:
    write_atomic(path, json.dumps(doc, indent=1), mode=0o600, make_dirs=True)


def _proof_path(data_dir: Path, leaf: bytes) -> Path:
    return data_dir / "proofs" / f"{leaf.hex()}.json"


@ledger.command("anchor")
@click.argument(
    "reports", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option("--uri", default="", help="Where the batch's reports are published.")
@_connection_options
def anchor_cmd(reports: tuple[Path, ...], uri: str, fmt: str, **kw: Any) -> None:
    """Anchor the RFC 6962 Merkle root of REPORT files in one transaction (certifier).

    An inclusion proof for each report is written under <data-dir>/proofs/.
    """
    leaves = [p.read_bytes() for p in reports]
    with _open(kw) as lg:
        root = inclusion_proof(leaves, 0).root
        result = lg.client.anchor_batch(root, len(leaves), uri)
        batch_id = next((e.args["id"] for e in result.events if e.name == "BatchAnchored"), None)
        proofs = []
        for i, report in enumerate(reports):
            proof = inclusion_proof(leaves, i)
            doc = {
                **proof.to_dict(),
                "report": report.name,
                "batch": batch_id,
                "contract": lg.client.address,
                "tx": result.transaction_hash,
            }
            path = _proof_path(lg.data_dir, proof.leaf)
            _write_json(path, doc)
            proofs.append(str(path))
        _emit(
            fmt,
            {**_tx_doc(result), "root": root.hex(), "batch": batch_id, "proofs": proofs},
            _tx_line(
                f"anchored {len(leaves)} report(s) as batch {batch_id}, root {root.hex()}", result
            )
            + f"\nper report: {result.gas_used / len(leaves):.0f} gas",
        )


@ledger.command("prove")
@click.argument("report", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--proof",
    "proof_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Inclusion proof JSON [default: <data-dir>/proofs/<leaf hash>.json].",
)
@click.option("--offline", is_flag=True, help="Only check the proof, not the ledger anchor.")
@_connection_options
@click.pass_context
def prove_cmd(
    ctx: click.Context,
    report: Path,
    proof_path: Path | None,
    offline: bool,
    fmt: str,
    **kw: Any,
) -> None:
    """Prove REPORT is in an anchored batch (exit 1 if not)."""
    leaf = leaf_hash(report.read_bytes())
    data_dir = kw["data_dir"] or default_data_dir()
    path = proof_path or _proof_path(data_dir, leaf)
    if not path.exists():
        raise InputError(f"no inclusion proof for {report} at {path}", hint="pass --proof FILE")
    try:
        proof = InclusionProof.from_dict(json.loads(path.read_text()))
    except ValueError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
    ok = proof.leaf == leaf and verify_inclusion(
        leaf, proof.index, proof.tree_size, proof.path, proof.root
    )
    doc: dict[str, Any] = {
        "report": str(report),
        "leafHash": leaf.hex(),
        "root": proof.root.hex(),
        "proofValid": ok,
        "anchor": None,
    }
    lines = [
        f"{report}: inclusion proof {'valid' if ok else 'INVALID'} "
        f"(leaf {proof.index} of {proof.tree_size}, root {proof.root.hex()})"
    ]
    anchored = True
    if not offline and ok:
        with _open(kw, need_account=False) as lg:
            anchor = lg.client.anchor(proof.root)
        anchored = anchor is not None
        if anchor is not None:
            doc["anchor"] = anchor.__dict__
            lines.append(
                f"root anchored as batch {anchor.batch_id} ({anchor.count} reports) at "
                + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(anchor.timestamp))
            )
        else:
            lines.append("root is NOT anchored on this ledger")
    _emit(fmt, doc, "\n".join(lines))
    if not (ok and anchored):
        ctx.exit(1)


# ====================================================================== admit
class _AdmitGroup(click.Group):
    """``xtrust admit TARGET`` checks; ``xtrust admit serve`` runs the webhook."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_AdmitGroup)
def admit() -> None:
    """Allow or deny an artifact from the ledger: `xtrust admit TARGET`, `xtrust admit serve`.

    Exit 0 allow, 1 deny (including an unreachable ledger: fail closed), 2 error.
    """


def _admission(kw: dict[str, Any], staleness: float) -> tuple[Ledger, Admission]:
    lg = _open(kw, need_account=False)
    return lg, Admission(lg.client, lg.store, max_staleness=staleness)


@admit.command("check")
@click.argument("target", metavar="TARGET|DIGEST")
@click.option(
    "--attestation",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Attestation envelope [default: the local attestation store].",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Certifier public key [default: from the data dir].",
)
@_connection_options
@click.pass_context
def check_cmd(
    ctx: click.Context,
    target: str,
    attestation: Path | None,
    key_path: Path | None,
    fmt: str,
    **kw: Any,
) -> None:
    """Digest TARGET and decide whether it may run."""
    digest = _digest_of(target)
    key = _load_key(key_path) if key_path else None
    try:
        lg, admission = _admission(kw, 0.0)
    except (LedgerError, XTrustError) as exc:
        if isinstance(exc, InputError):
            raise
        reason = f"ledger unavailable, failing closed: {exc}"
        _emit(fmt, {"decision": "deny", "digest": digest, "reason": reason}, f"deny: {reason}")
        ctx.exit(1)
    with lg:
        decision = admission.decide(digest, attestation=attestation, key=key)
    verdict = "allow" if decision.allowed else "deny"
    _emit(fmt, decision.to_dict(), f"{verdict}: {digest}: {decision.reason}")
    ctx.exit(0 if decision.allowed else 1)


@admit.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", type=int, default=8443, show_default=True)
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), help="PEM certificate.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), help="PEM private key.")
@click.option(
    "--insecure-http", is_flag=True, help="Serve plain HTTP (testing only; Kubernetes needs TLS)."
)
@click.option(
    "--max-staleness",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds a cached ledger lookup may be reused (bounds how late a revoke bites).",
)
@_connection_options
def serve_cmd(
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    insecure_http: bool,
    max_staleness: float,
    fmt: str,
    **kw: Any,
) -> None:
    """Run the Kubernetes validating admission webhook (POST /validate)."""
    from aiohttp import web

    from xtrust.ledger.webhook import make_app, ssl_context

    if not insecure_http and not (tls_cert and tls_key):
        raise InputError(
            "the webhook needs --tls-cert and --tls-key (Kubernetes calls webhooks over HTTPS)",
            hint="use --insecure-http only for local testing",
        )
    ctx = ssl_context(tls_cert, tls_key) if tls_cert and tls_key else None
    lg, admission = _admission(kw, max_staleness)
    with lg:
        click.echo(
            f"admission webhook on {'https' if ctx else 'http'}://{host}:{port}/validate "
            f"(ledger {lg.backend.description}, staleness {max_staleness:g} s)",
            err=True,
        )
        web.run_app(make_app(admission), host=host, port=port, ssl_context=ctx, print=None)
