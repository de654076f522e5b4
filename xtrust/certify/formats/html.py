"""``report.html``: one self-contained page (no external resources): verdict,
analyzer table, SVG bar charts by severity and by analyzer, and a findings
table sortable by any column (a few lines of inline JavaScript). Every value
from the report is HTML-escaped."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

__all__ = ["render_html"]

_COLORS = {
    "critical": "#7b1fa2",
    "high": "#c62828",
    "medium": "#ef6c00",
    "low": "#f9a825",
    "info": "#607d8b",
}
_VERDICT = {"pass": "#2e7d32", "fail": "#c62828", "incomplete": "#6d4c41"}
_SEV_ORDER = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222}
h1{margin-bottom:.2rem}.muted{color:#666}.verdict{display:inline-block;padding:.3rem .8rem;
color:#fff;border-radius:4px;font-weight:bold;text-transform:uppercase}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #ddd;
padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f5f5f5;cursor:pointer;user-select:none}th.nosort{cursor:default}
code{font-size:.85rem;word-break:break-all}.sev{color:#fff;border-radius:3px;padding:0 .4rem}
.charts{display:flex;gap:3rem;flex-wrap:wrap}.state-waived,.state-baseline{opacity:.55}
"""

_JS = """
document.querySelectorAll('table.sortable th[data-k]').forEach(function(th){
 th.addEventListener('click',function(){
  var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,asc=th.dataset.asc!=='1';
  th.dataset.asc=asc?'1':'0';
  var rows=Array.prototype.slice.call(b.rows);
  rows.sort(function(x,y){
   var a=x.cells[i].dataset.v||x.cells[i].textContent,c=y.cells[i].dataset.v||y.cells[i].textContent;
   var na=parseFloat(a),nc=parseFloat(c);
   var r=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);
   return asc?r:-r;});
  rows.forEach(function(r){b.appendChild(r);});});});
"""


def _bars(title: str, counts: list[tuple[str, int]], colors: dict[str, str]) -> str:
    width, bar_h, gap, label_w = 360, 18, 6, 120
    top = max([c for _, c in counts] + [1])
    height = len(counts) * (bar_h + gap) + 10
    parts = [
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f'<svg role="img" width="{width + label_w + 40}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, count) in enumerate(counts):
        y = i * (bar_h + gap)
        w = int(width * count / top)
        color = colors.get(label, "#1565c0")
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="12">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{color}"/>'
            f'<text x="{label_w + w + 4}" y="{y + 13}" font-size="12">{count}</text>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    verdict = str(report["verdict"])
    active = [f for f in report["findings"] if f.get("state") == "active"]
    by_sev = report["summary"]["by_severity"]
    by_analyzer = Counter(f["analyzer"] for f in active)
    sev_counts = [(s, int(by_sev.get(s, 0))) for s in ("critical", "high", "medium", "low", "info")]
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>xtrust certify: {escape(str(report['target']['path']))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>XTRUST certification report</h1>",
        f'<p class="muted">{escape(str(report["target"]["kind"]))} '
        f"<code>{escape(str(report['target']['path']))}</code> &middot; digest "
        f"<code>{escape(str(report['target'].get('digest') or '-'))}</code> &middot; "
        f"{escape(str(report['generated_at']))}</p>",
        f'<p><span class="verdict" style="background:{_VERDICT.get(verdict, "#555")}">'
        f"{escape(verdict)}</span> exit code {int(report['exit_code'])}</p>",
    ]
    if report.get("reasons"):
        out.append(
            "<ul>" + "".join(f"<li>{escape(str(r))}</li>" for r in report["reasons"]) + "</ul>"
        )
    s = report["summary"]
    out.append(
        f"<p>{s['active']} active finding(s), {s['waived']} waived, {s['baseline']} in the baseline."
        f" Policy: <code>{escape(str(report['policy']['source']))}</code>.</p>"
    )
    out.append('<div class="charts">')
    out.append(_bars("Active findings by severity", sev_counts, _COLORS))
    out.append(_bars("Active findings by analyzer", sorted(by_analyzer.items()), {}))
    out.append("</div><h2>Analyzers</h2>")
    out.append(
        '<table class="sortable"><thead><tr><th data-k>Analyzer</th><th data-k>Status</th>'
        "<th data-k>Scanned</th><th data-k>Findings</th><th data-k>Seconds</th>"
        '<th data-k>Tool</th><th class="nosort">Reason</th></tr></thead><tbody>'
    )
    for a in report["analyzers"]:
        out.append(
            f"<tr><td>{escape(a['name'])}</td><td>{escape(a['status'])}"
            f"{' (cached)' if a.get('cached') else ''}</td><td>{int(a['scanned_count'])}</td>"
            f"<td>{int(a['findings'])}</td><td>{float(a['duration_s']):.2f}</td>"
            f"<td>{escape(str(a['tool_version']))}</td><td>{escape(str(a['reason']))}</td></tr>"
        )
    out.append("</tbody></table><h2>Findings</h2>")
    out.append(
        '<table class="sortable" id="findings"><thead><tr><th data-k>Severity</th>'
        "<th data-k>State</th><th data-k>Analyzer</th><th data-k>Rule</th><th data-k>Location</th>"
        '<th data-k>Message</th><th class="nosort">Fingerprint</th></tr></thead><tbody>'
    )
    for f in report["findings"]:
        loc = f.get("location") or {}
        where = str(loc.get("path") or "")
        if loc.get("start_line"):
            where += f":{loc['start_line']}"
        sev = str(f["severity"])
        snippet = loc.get("snippet")
        out.append(
            f'<tr class="state-{escape(str(f.get("state")))}">'
            f'<td data-v="{_SEV_ORDER.get(sev, 0)}"><span class="sev" '
            f'style="background:{_COLORS.get(sev, "#555")}">{escape(sev)}</span></td>'
            f"<td>{escape(str(f.get('state')))}</td><td>{escape(f['analyzer'])}</td>"
            f"<td>{escape(f['rule_id'])}</td><td><code>{escape(where)}</code></td>"
            f"<td>{escape(f['message'])}"
            + (f"<br><code>{escape(str(snippet))}</code>" if snippet else "")
            + f"</td><td><code>{escape(f['fingerprint'])}</code></td></tr>"
        )
    out.append("</tbody></table>")
    out.append(f"<script>{_JS}</script></body></html>\n")
    return "".join(out)
