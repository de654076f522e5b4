#!/usr/bin/env bash
# Supply chain, end to end, on embedded defaults: certify an xApp and sign the
# attestation with a hybrid (Ed25519 + ML-DSA-65) key, anchor it on the embedded
# ledger (submit, certify, approve, deploy), admit it; revoke it, and admission
# is denied. Everything lives in a temporary directory, removed at the end.
set -euo pipefail
XTRUST=${XTRUST:-xtrust}
APP=${1:-xtrust/xapps/kpmmon}
work=$(mktemp -d "${TMPDIR:-/tmp}/xtrust-supply-chain.XXXXXX")
trap 'rm -rf "$work"' EXIT
export XTRUST_CACHE_DIR="$work/cache"
ledger=(--data-dir "$work/ledger")

step() { printf '\n== %s\n' "$*"; }

step "a certifier key pair (hybrid Ed25519 + ML-DSA-65)"
"$XTRUST" keys generate --out "$work/keys" --name certifier

step "xtrust certify $APP --sign ..."
cp -r "$APP" "$work/app"
rm -rf "$work/app/__pycache__"
"$XTRUST" certify "$work/app" --sign "$work/keys/certifier.key" --output-dir "$work/out"
"$XTRUST" attest verify "$work/out/attestation.dsse.json" --key "$work/keys/certifier.pub" \
  --artifact "$work/app"

step "the ledger: register the certifier's key, then submit, certify, approve, deploy"
"$XTRUST" ledger init "${ledger[@]}"
"$XTRUST" ledger keys register "${ledger[@]}" --key "$work/keys/certifier.pub"
"$XTRUST" ledger submit "${ledger[@]}" --name kpm-monitor --version 0.1.0 --artifact "$work/app"
"$XTRUST" ledger certify "${ledger[@]}" --name kpm-monitor --version 0.1.0 \
  --attestation "$work/out/attestation.dsse.json"
"$XTRUST" ledger approve "${ledger[@]}" --name kpm-monitor --version 0.1.0
"$XTRUST" ledger deploy "${ledger[@]}" --name kpm-monitor --version 0.1.0

step "xtrust admit: the RIC operator's check before onboarding (expect allow)"
"$XTRUST" admit "${ledger[@]}" "$work/app"

step "a vulnerability is found: revoke, and admission is denied (exit 1)"
"$XTRUST" ledger revoke "${ledger[@]}" --name kpm-monitor --version 0.1.0 --reason "CVE-2026-0001"
set +e
"$XTRUST" admit "${ledger[@]}" "$work/app"
rc=$?
set -e
if [ "$rc" -ne 1 ]; then
  echo "expected admit to deny (exit 1) after the revocation, got exit $rc" >&2
  exit 1
fi
"$XTRUST" ledger history "${ledger[@]}" kpm-monitor
echo
echo "supply-chain demo: allowed while deployed, denied after revocation"
