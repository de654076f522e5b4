"""Outputs of the threat model: JSON document, Graphviz DOT, self-contained HTML (inline SVG)."""

from __future__ import annotations

import html
import json
from collections import deque
from typing import Any

from xtrust.ric import mtypes

from .graph import Analysis
from .topology import Interface

__all__ = ["SEGMENTATION_TYPE", "removal", "to_dot", "to_html", "to_json"]

#: interface type -> segmentation flow type (xtrust.xapps.segmentation FLOW_TYPES)
SEGMENTATION_TYPE = {
    "rmr": "rmr",
    "e2-control": "e2-control",
    "a1": "a1",
    "sdl": "sdl",
    "network": "network",
    "e2": "network",
    "o1": "network",
    "fronthaul": "network",
}


def removal(iface: Interface) -> dict[str, Any]:
    """One flow to remove, in the segmentation policy vocabulary."""
    doc: dict[str, Any] = {
        "from": iface.src,
        "to": iface.dst,
        "type": SEGMENTATION_TYPE.get(iface.type, "network"),
    }
    if iface.type == "sdl":
        doc["op"] = iface.op
    for key, value in iface.extra.items():
        if key == "mtypes" and isinstance(value, list):
            doc[key] = [mtypes.name(m) if isinstance(m, int) else m for m in value]
        else:
            doc[key] = value
    doc["policy_flow"] = f"flows[{iface.policy_index}]" if iface.policy_index is not None else None
    doc["interface"] = iface.index
    doc["interface_type"] = iface.type
    return doc


def to_json(analysis: Analysis) -> dict[str, Any]:
    topo = analysis.topology
    fight = analysis.fight
    cut = analysis.cut
    rules = analysis.graph.rules
    return {
        "topology": topo.source,
        "assets": len(topo.assets),
        "interfaces": len(topo.interfaces),
        "entries": topo.entries,
        "critical": topo.critical,
        "rules": {
            "builtin": sum(1 for r in rules if r.source == "builtin"),
            "fight": sum(1 for r in rules if r.source == "fight"),
            "vulnerabilities": sum(1 for r in rules if r.source == "vuln"),
            "fight_file": fight.path if fight else None,
            "fight_techniques_skipped": len(fight.skipped) if fight else 0,
        },
        "paths": {t: [p.to_json() for p in ps] for t, ps in analysis.paths.items()},
        "exposure": {
            k: round(v, 6)
            for k, v in sorted(analysis.exposure.items(), key=lambda kv: (-kv[1], kv[0]))
        },
        "min_cut": {
            "separable": cut.separable,
            "size": len(cut.interfaces),
            "reason": cut.reason or None,
            "remove_flows": [removal(i) for i in analysis.cut_flows()],
        },
        "attribution": (
            "Techniques from MITRE FiGHT(TM) (https://fight.mitre.org)." if fight else None
        ),
    }


def _shown(analysis: Analysis, limit: int = 300) -> tuple[list[str], list[Interface]]:
    """Assets and interfaces to draw: all of a small topology, else those on paths / the cut."""
    topo = analysis.topology
    if len(topo.assets) <= limit:
        return list(topo.assets), list(topo.interfaces)
    keep: set[str] = set(topo.critical) | set(topo.entries)
    ifaces: set[int] = set(analysis.cut.interfaces)
    for ps in analysis.paths.values():
        for p in ps:
            for s in p.steps:
                keep.update((s.src, s.dst))
                if s.interface is not None:
                    ifaces.add(s.interface)
    for i in ifaces:
        keep.update((topo.interfaces[i].src, topo.interfaces[i].dst))
    return [n for n in topo.assets if n in keep], [topo.interfaces[i] for i in sorted(ifaces)]


def _path_ifaces(analysis: Analysis) -> set[int]:
    out: set[int] = set()
    for ps in analysis.paths.values():
        if ps:
            out.update(s.interface for s in ps[0].steps if s.interface is not None)
    return out


def _dot_esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_id(text: str) -> str:
    return '"' + _dot_esc(text) + '"'


def _dot_label(*lines: str) -> str:
    """A quoted DOT label with one line per argument (DOT's ``\\n`` line break)."""
    return '"' + "\\n".join(_dot_esc(line) for line in lines) + '"'


def to_dot(analysis: Analysis) -> str:
    topo = analysis.topology
    names, ifaces = _shown(analysis)
    on_path = _path_ifaces(analysis)
    cut = set(analysis.cut.interfaces)
    lines = [
        "digraph threatmodel {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor="#ffffff"];',
    ]
    for n in names:
        a = topo.assets[n]
        color = "#f8d7da" if a.goals else "#fff3cd" if a.entry else "#e2e3e5"
        label = _dot_label(
            n, f"{a.kind} / {a.zone}", f"exposure {analysis.exposure.get(n, 0.0):.2f}"
        )
        shape = ", shape=doubleoctagon" if a.goals else ", shape=house" if a.entry else ""
        lines.append(f"  {_dot_id(n)} [label={label}, fillcolor={_dot_id(color)}{shape}];")
    for i in ifaces:
        attrs = [f"label={_dot_id(i.type + (':' + i.op if i.op else ''))}"]
        if i.index in cut:
            attrs.append('color="#0d6efd", style=dashed, penwidth=2.5, xlabel="CUT"')
        elif i.index in on_path:
            attrs.append('color="#dc3545", penwidth=2')
        lines.append(f"  {_dot_id(i.src)} -> {_dot_id(i.dst)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _layout(
    analysis: Analysis, names: list[str], ifaces: list[Interface]
) -> dict[str, tuple[int, int]]:
    """Layered layout: column = hop distance from the entry points (undirected)."""
    adj: dict[str, list[str]] = {n: [] for n in names}
    for i in ifaces:
        if i.src in adj and i.dst in adj:
            adj[i.src].append(i.dst)
            adj[i.dst].append(i.src)
    layer: dict[str, int] = {}
    dq: deque[str] = deque()
    for e in analysis.topology.entries:
        if e in adj:
            layer[e] = 0
            dq.append(e)
    while dq:
        u = dq.popleft()
        for v in adj[u]:
            if v not in layer:
                layer[v] = layer[u] + 1
                dq.append(v)
    top = max(layer.values(), default=0) + 1
    for n in names:
        layer.setdefault(n, top)
    rows: dict[int, int] = {}
    pos: dict[str, tuple[int, int]] = {}
    for n in names:
        col = layer[n]
        row = rows.get(col, 0)
        rows[col] = row + 1
        pos[n] = (40 + col * 190, 40 + row * 70)
    return pos


def to_html(analysis: Analysis) -> str:
    topo = analysis.topology
    names, ifaces = _shown(analysis, limit=150)
    pos = _layout(analysis, names, ifaces)
    on_path = _path_ifaces(analysis)
    cut = set(analysis.cut.interfaces)
    width = max((x for x, _ in pos.values()), default=0) + 200
    height = max((y for _, y in pos.values()), default=0) + 80
    esc = html.escape
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        '<defs><marker id="arr" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>',
    ]
    for i in ifaces:
        if i.src not in pos or i.dst not in pos:
            continue
        (x1, y1), (x2, y2) = pos[i.src], pos[i.dst]
        color, extra = "#999", ""
        if i.index in cut:
            color, extra = "#0d6efd", ' stroke-dasharray="6,4" stroke-width="3"'
        elif i.index in on_path:
            color, extra = "#dc3545", ' stroke-width="2.5"'
        svg.append(
            f'<line x1="{x1 + 140}" y1="{y1 + 20}" x2="{x2}" y2="{y2 + 20}" stroke="{color}"'
            f'{extra} marker-end="url(#arr)"><title>{esc(i.src)} -&gt; {esc(i.dst)} '
            f"({esc(i.type)}) interface {i.index}</title></line>"
        )
    for n in names:
        a = topo.assets[n]
        x, y = pos[n]
        fill = "#f8d7da" if a.goals else "#fff3cd" if a.entry else "#e9ecef"
        svg.append(
            f'<g><rect x="{x}" y="{y}" width="140" height="40" rx="6" fill="{fill}" '
            f'stroke="#333"/><text x="{x + 6}" y="{y + 16}">{esc(n[:22])}</text>'
            f'<text x="{x + 6}" y="{y + 31}" fill="#555">{esc(a.kind)} · '
            f"{analysis.exposure.get(n, 0.0):.2f}</text><title>{esc(n)}</title></g>"
        )
    svg.append("</svg>")
    rows = []
    for target, ps in analysis.paths.items():
        for rank, p in enumerate(ps, 1):
            steps = " → ".join(
                f"{esc(s.privilege)}({esc(s.dst)}) <small>[{esc(s.rule)}"
                f"{(' ' + esc(','.join(s.techniques))) if s.techniques else ''}]</small>"
                for s in p.steps
            )
            rows.append(
                f"<tr><td>{esc(target)}</td><td>{rank}</td><td>{p.probability:.4f}</td>"
                f"<td>{esc(p.entry)} → {steps}</td></tr>"
            )
        if not ps:
            rows.append(f"<tr><td>{esc(target)}</td><td>-</td><td>0</td><td>unreachable</td></tr>")
    cut_rows = "".join(
        f"<li><code>{esc(json.dumps(removal(i)))}</code></li>" for i in analysis.cut_flows()
    )
    if not analysis.cut.separable:
        cut_rows = f"<li>{esc(analysis.cut.reason)}</li>"
    exp_rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{v:.4f}</td></tr>"
        for k, v in sorted(analysis.exposure.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
    )
    attribution = (
        "<p><small>Techniques from MITRE FiGHT&trade; (https://fight.mitre.org).</small></p>"
        if analysis.fight
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>XTRUST threat model: {esc(topo.source)}</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top}}
.svg{{overflow:auto;border:1px solid #ddd}}</style></head><body>
<h1>Threat model: {esc(topo.source)}</h1>
<p>{len(topo.assets)} assets, {len(topo.interfaces)} interfaces, entry points:
{esc(", ".join(topo.entries))}; critical: {esc(", ".join(topo.critical))}.
Red: interfaces on the most likely paths; dashed blue: the minimum cut.</p>
<div class="svg">{"".join(svg)}</div>
<h2>Most likely attack paths</h2>
<table><tr><th>target</th><th>#</th><th>likelihood</th><th>path</th></tr>{"".join(rows)}</table>
<h2>Flows to remove (minimum cut, {len(analysis.cut.interfaces)})</h2><ul>{cut_rows}</ul>
<h2>Exposure (top 50)</h2><table><tr><th>asset</th><th>exposure</th></tr>{exp_rows}</table>
{attribution}</body></html>
"""
