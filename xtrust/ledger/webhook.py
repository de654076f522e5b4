"""``xtrust admit serve``: a Kubernetes validating admission webhook.

``POST /validate`` takes an ``admission.k8s.io/v1`` AdmissionReview and answers with
one: a pod (or a workload's pod template) is allowed only when every container,
init container and ephemeral container image is pinned by digest
(``repo@sha256:<hex>``) and :class:`~xtrust.ledger.admit.Admission` allows that
digest. ``GET /healthz`` answers ``ok``. Ledger lookups run in a worker thread
(the back ends are blocking) and are cached with a bounded staleness.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import Any

from aiohttp import web

from xtrust.ledger.admit import Admission, Decision
from xtrust.log import get_logger

__all__ = ["image_digest", "make_app", "pod_images", "review"]

log = get_logger("xtrust.ledger.webhook")

_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


def image_digest(image: str) -> str | None:
    match = _DIGEST.search(image.strip())
    return match.group(1) if match else None


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    if isinstance(template, dict):
        inner = template.get("spec")
        return inner if isinstance(inner, dict) else None
    return None


def pod_images(obj: dict[str, Any]) -> list[str]:
    spec = _pod_spec(obj)
    if spec is None:
        return []
    images = []
    for section in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(section) or []:
            if isinstance(container, dict) and "image" in container:
                images.append(str(container["image"]))
    return images


def review(admission: Admission, body: dict[str, Any]) -> dict[str, Any]:
    """Answer one AdmissionReview (blocking)."""
    request = body.get("request") or {}
    uid = request.get("uid", "")
    obj = request.get("object") or {}
    images = pod_images(obj) if isinstance(obj, dict) else []
    allowed, messages = True, []
    if request.get("operation") == "DELETE":
        images = []
    for image in images:
        digest = image_digest(image)
        if digest is None:
            allowed = False
            messages.append(f"{image}: not pinned by digest (use image@sha256:...)")
            continue
        decision: Decision = admission.decide(digest)
        if not decision.allowed:
            allowed = False
            messages.append(f"{image}: {decision.reason}")
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": "; ".join(messages)}
    log.info(
        "admission review",
        extra={"mdc": {"uid": uid, "allowed": allowed, "images": len(images)}},
    )
    return {
        "apiVersion": body.get("apiVersion", "admission.k8s.io/v1"),
        "kind": "AdmissionReview",
        "response": response,
    }


def make_app(admission: Admission) -> web.Application:
    lock = asyncio.Lock()  # the embedded back end is single-threaded

    async def validate(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(body, dict) or body.get("kind") != "AdmissionReview":
            return web.json_response({"error": "expected an AdmissionReview"}, status=400)
        async with lock:
            answer = await asyncio.to_thread(review, admission, body)
        return web.json_response(answer)

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/validate", validate)
    app.router.add_get("/healthz", healthz)
    return app


def ssl_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx
