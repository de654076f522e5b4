"""Collaborative detection: RIC sites share STIX 2.1 indicators and sightings, never raw data.

What a site exports for each incident at or above a score (one bundle):

* an ``identity`` for the site;
* one ``indicator`` per shared observable, with a STIX pattern:
  - a UE: ``[x-xtrust-ue:id_hmac = '<hex>']`` - HMAC-SHA256 of the UE identifier under the
    federation key (sites that share the key can match, nobody can read the identifier);
  - an xApp with a known image digest: ``[artifact:hashes.'SHA-256' = '<hex>']``;
  - an xApp without a digest: ``[x-xtrust-xapp:name_hmac = '<hex>']``;
  - an attack class: ``[x-xtrust-alert:attack_class = '<class>']``;
* one ``sighting`` per indicator (``count`` = events, ``first_seen`` / ``last_seen``,
  ``where_sighted_refs`` = the site), with ``x_xtrust_score`` = the incident's score.

Cells and E2 nodes are site-local and never exported.

A site that ingests another site's bundle stores, per indicator key, the
sites that sighted it; the incidents (present and future) whose entities
match are boosted (see :mod:`.correlate` for the factors).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from xtrust.errors import InputError

from .correlate import Incident
from .events import iso

__all__ = ["export_bundle", "indicator_keys", "parse_bundle"]

_NS = uuid.UUID("0d7cb7a8-8d4e-4a3c-9f0f-1c7a3e2b5d44")
_PATTERNS = (
    (re.compile(r"^\[x-xtrust-ue:id_hmac = '([0-9a-f]{64})'\]$"), "ue-hmac"),
    (re.compile(r"^\[artifact:hashes\.'SHA-256' = '([0-9a-f]{64})'\]$"), "xapp-digest"),
    (re.compile(r"^\[x-xtrust-xapp:name_hmac = '([0-9a-f]{64})'\]$"), "xapp-hmac"),
    (re.compile(r"^\[x-xtrust-alert:attack_class = '([a-z0-9-]+)'\]$"), "attack-class"),
)


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _digest_hex(digest: str) -> str | None:
    text = digest.lower().removeprefix("sha256:")
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else None


def indicator_keys(entity: str, incident: Incident | None, key: bytes) -> list[str]:
    """Shareable keys (``kind:value``) of one entity; empty for site-local entities."""
    kind, _, ident = entity.partition(":")
    if kind == "ue":
        return [f"ue-hmac:{_hmac(key, 'ue:' + ident)}"]
    if kind == "xapp":
        out = [f"xapp-hmac:{_hmac(key, 'xapp:' + ident)}"]
        digest = incident.attr_of(entity, "digest") if incident is not None else None
        if isinstance(digest, str) and (hexd := _digest_hex(digest)):
            out.insert(0, f"xapp-digest:{hexd}")
        return out
    return []


def _pattern(ikey: str) -> str:
    kind, _, value = ikey.partition(":")
    if kind == "ue-hmac":
        return f"[x-xtrust-ue:id_hmac = '{value}']"
    if kind == "xapp-digest":
        return f"[artifact:hashes.'SHA-256' = '{value}']"
    if kind == "xapp-hmac":
        return f"[x-xtrust-xapp:name_hmac = '{value}']"
    return f"[x-xtrust-alert:attack_class = '{value}']"


def export_bundle(
    incidents: Iterable[Incident], site: str, key: bytes, min_score: float = 0.0
) -> dict[str, Any]:
    """A STIX 2.1 bundle of indicators and sightings for ``incidents`` (see module doc)."""
    ident = f"identity--{uuid.uuid5(_NS, 'site:' + site)}"
    objects: list[dict[str, Any]] = []
    indicators: dict[str, dict[str, Any]] = {}
    sightings: list[dict[str, Any]] = []
    created = None
    for inc in incidents:
        if inc.score < min_score:
            continue
        t_first, t_last = iso(inc.first), iso(inc.last)
        created = created or t_first
        keys: list[str] = []
        for ent in inc.entities:
            keys.extend(indicator_keys(ent, inc, key))
        keys.extend(f"attack-class:{c}" for c in inc.attack_classes)
        for ikey in dict.fromkeys(keys):
            ind_id = f"indicator--{uuid.uuid5(_NS, site + '|' + ikey)}"
            if ikey not in indicators:
                indicators[ikey] = {
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": ind_id,
                    "created": t_first,
                    "modified": t_first,
                    "created_by_ref": ident,
                    "name": f"xtrust {ikey.partition(':')[0]}",
                    "indicator_types": ["malicious-activity"],
                    "pattern": _pattern(ikey),
                    "pattern_type": "stix",
                    "valid_from": t_first,
                }
            sightings.append(
                {
                    "type": "sighting",
                    "spec_version": "2.1",
                    "id": f"sighting--{uuid.uuid5(_NS, site + '|' + inc.id + '|' + ikey)}",
                    "created": t_last,
                    "modified": t_last,
                    "created_by_ref": ident,
                    "sighting_of_ref": ind_id,
                    "where_sighted_refs": [ident],
                    "first_seen": t_first,
                    "last_seen": t_last,
                    "count": len(inc.events),
                    "x_xtrust_score": round(inc.score, 4),
                }
            )
    t0 = created or "1970-01-01T00:00:00.000Z"
    objects.append(
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": ident,
            "created": t0,
            "modified": t0,
            "name": site,
            "identity_class": "organization",
        }
    )
    objects.extend(indicators.values())
    objects.extend(sightings)
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid5(_NS, site + '|' + '|'.join(s['id'] for s in sightings))}",
        "objects": objects,
    }


def parse_bundle(bundle: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(indicator key, site name) for every sighting in a shared bundle."""
    if not isinstance(bundle, Mapping) or bundle.get("type") != "bundle":
        raise InputError("shared intelligence: not a STIX bundle")
    objs = bundle.get("objects")
    if not isinstance(objs, list):
        raise InputError("shared intelligence: bundle.objects must be a list")
    by_id = {o.get("id"): o for o in objs if isinstance(o, Mapping)}
    out: list[tuple[str, str]] = []
    for o in objs:
        if not isinstance(o, Mapping) or o.get("type") != "sighting":
            continue
        ind = by_id.get(o.get("sighting_of_ref"))
        if not isinstance(ind, Mapping) or ind.get("type") != "indicator":
            continue
        pattern = str(ind.get("pattern", ""))
        ikey = None
        for rx, kind in _PATTERNS:
            m = rx.match(pattern)
            if m:
                ikey = f"{kind}:{m.group(1)}"
                break
        if ikey is None:
            continue
        for ref in o.get("where_sighted_refs") or [o.get("created_by_ref")]:
            who = by_id.get(ref)
            site = who.get("name") if isinstance(who, Mapping) else None
            out.append((ikey, str(site or ref)))
    return out
