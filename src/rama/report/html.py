"""The report as one self-contained HTML page: inline CSS, inline SVG charts and one small
inline script (the sortable tables). A Content-Security-Policy forbids every fetch and every
other script, so the page opens offline and a name smuggled into the data cannot run."""

from __future__ import annotations

import base64
import hashlib
import re

from rama.report.elements import Element, Figure, Headline, Notice, Paragraph, Section, Table
from rama.report.formatting import esc
from rama.report.sections import Content

SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (t) {
  t.querySelectorAll("thead th").forEach(function (th, i) {
    th.addEventListener("click", function () {
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var num = th.getAttribute("data-type") === "num";
      var asc = th.getAttribute("aria-sort") !== "ascending";
      t.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      rows.sort(function (x, y) {
        var a = x.cells[i].getAttribute("data-sort"), b = y.cells[i].getAttribute("data-sort");
        if (num) { a = parseFloat(a); b = parseFloat(b); }
        return (a < b ? -1 : a > b ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
""".strip()

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2329;
margin:0;background:#f6f7f9}
main{max-width:1080px;margin:0 auto;padding:18px 22px 60px}
h1{font-size:24px;margin:6px 0 2px}h2{font-size:19px;margin:34px 0 8px;
border-bottom:2px solid #dfe3e8;padding-bottom:4px}h3{font-size:15px;margin:18px 0 4px}
.sub{color:#56606b;margin:0 0 10px}
.stages span{display:inline-block;margin:0 6px 4px 0;padding:1px 8px;border-radius:10px;
font-size:12px;background:#e5efe7;color:#23502f}
.stages span.stale{background:#fbecd5;color:#7a4a00}.stages span.notrun{background:#eceef1;
color:#56606b}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;
margin:12px 0}
.card{background:#fff;border:1px solid #dfe3e8;border-radius:8px;padding:10px 12px}
.card .v{font-size:24px;font-weight:650;color:#1f5f8b}.card .l{font-size:12px;color:#56606b;
text-transform:uppercase;letter-spacing:.03em}.card .d{font-size:12px;color:#56606b}
.row{display:flex;gap:18px;flex-wrap:wrap}.row>div{flex:1 1 320px}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0;width:100%}
th,td{border:1px solid #dfe3e8;padding:3px 8px;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
thead th{background:#eef1f4}table.sortable thead th{cursor:pointer}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
figure{margin:14px 0;background:#fff;border:1px solid #dfe3e8;border-radius:8px;padding:10px}
figure svg{display:block;margin:0 auto}
figcaption{color:#39424c;margin-bottom:6px}figcaption b{color:#1d2329}
.notice{background:#fff8ec;border-left:4px solid #e0a030;padding:8px 12px;margin:10px 0}
.notice.missing{background:#f3f4f6;border-left-color:#8c8c8c}
.caption{color:#56606b;font-size:12px}
nav a{margin-right:10px;color:#1f5f8b}
code{background:#eef1f4;padding:0 3px;border-radius:3px;font-size:12px}
.scroll{max-height:460px;overflow:auto}
""".strip()


def text(s: str) -> str:
    """Plain text as HTML: escaped, then ```code``` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(s))


def _table(t: Table) -> str:
    numeric = t.numeric or (False,) * len(t.columns)
    head = "".join(
        f"<th{' class=n data-type=num' if n else ''}>{esc(c)}</th>"
        for c, n in zip(t.columns, numeric, strict=False)
    )
    body = []
    for row in t.rows:
        cells = []
        for c, n in zip(row, numeric, strict=False):
            sort = c.text if c.sort is None else c.sort
            attr = f' data-sort="{esc(sort)}"' if t.sortable else ""
            cells.append(f"<td{' class=n' if n else ''}{attr}>{esc(c.text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = ' class="sortable"' if t.sortable else ""
    cap = f'<p class="caption">{text(t.caption)}</p>' if t.caption else ""
    wrap = ' class="scroll"' if len(t.rows) > 20 else ""
    return (
        f'<div{wrap}><table id="table-{esc(t.key)}"{cls}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{cap}"
    )


def _notice(n: Notice) -> str:
    kind = "missing" if n.kind == "missing" else "stale"
    return f'<p class="notice {kind}" data-notice="{esc(n.kind)}">{text(n.text)}</p>'


def _element(e: Element) -> str:
    if isinstance(e, Paragraph):
        return f"<p>{text(e.text)}</p>"
    if isinstance(e, Notice):
        return _notice(e)
    if isinstance(e, Table):
        return _table(e)
    if isinstance(e, Figure):
        return (
            f'<figure data-chart="{esc(e.chart.key)}" data-marks="{e.chart.marks}">'
            f"<figcaption><b>{esc(e.title)}.</b> {text(e.caption)}</figcaption>"
            f"{e.chart.svg}</figure>"
        )
    raise TypeError(f"unknown report element {type(e).__name__}")


def _section(s: Section) -> str:
    body = "".join(_element(e) for e in s.elements)
    return f'<section id="{esc(s.key)}"><h2>{esc(s.title)}</h2>{body}</section>'


def _first_screen(h: Headline, states: dict[str, str]) -> str:
    badges = "".join(
        f'<span class="{esc(v.replace(" ", ""))}">{esc(k)}: {esc(v)}</span>'
        for k, v in states.items()
    )
    out = [
        f"<h1>{esc(h.title)}</h1>",
        f'<p class="sub">Recommended plan: <b>{esc(h.strategy)}</b> · planning week '
        f"{esc(h.week)}</p>",
        f'<p class="stages">{badges}</p>',
    ]
    if h.notice is not None:
        return '<header id="first-screen">' + "".join(out) + _notice(h.notice) + "</header>"
    cards = "".join(
        f'<div class="card"><div class="l">{esc(s.label)}</div><div class="v">{esc(s.value)}'
        f'</div><div class="d">{esc(s.detail)}</div></div>'
        for s in h.stats
    )
    out.append(f'<div class="cards">{cards}</div>')
    costs = "".join(f'<tr><td>{esc(c)}</td><td class="n">{esc(v)}</td></tr>' for c, v in h.costs)
    left = f'<h3>Cost of the plan</h3><table id="table-costs"><tbody>{costs}</tbody></table>'
    right = ""
    if h.changes is not None:
        right = "<h3>What changed against doing nothing</h3>" + _table(h.changes)
    out.append(f'<div class="row"><div>{left}</div><div>{right}</div></div>')
    return '<header id="first-screen">' + "".join(out) + "</header>"


def render(content: Content) -> str:
    """The whole page (deterministic for the same run folder)."""
    digest = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode()
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'"
    )
    nav = "".join(f'<a href="#{esc(s.key)}">{esc(s.title)}</a>' for s in content.sections)
    body = "".join(_section(s) for s in content.sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(content.headline.title)} - rama report</title>"
        f"<style>{CSS}</style></head><body><main>"
        f"{_first_screen(content.headline, content.states)}"
        f"<nav>{nav}</nav>{body}"
        f'<p class="caption">Run folder {esc(content.run_dir.resolve())}</p>'
        f"</main><script>{SORT_SCRIPT}</script></body></html>\n"
    )
