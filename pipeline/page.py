"""The report a person reads: one self-contained HTML page (`report.html`) and the same sections
as Markdown (`report.md`): each network's card (value, cadence, people, share kept in cadence,
overdue) with its charts, "this week" (pipeline.agenda), and everyone's row.

Every value is escaped where it lands: HTML text with html.escape, the table's data as JSON a
script reads and writes with textContent (never as markup), Markdown with export.markdown_text.
The page loads nothing: its charts are PNG images inside it, its script and style inline.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from pipeline.agenda import Item
from pipeline.export import markdown_text
from pipeline.report import NETWORK_COLUMNS, STALENESS_COLUMNS, Row

#: The columns of the page's table of everyone, and of the Markdown report's: the whole
#: staleness row, then the rung reached lately and the next step.
TABLE_COLUMNS: tuple[str, ...] = (*STALENESS_COLUMNS, "rung", "next_step")
_AT = {name: STALENESS_COLUMNS.index(name) for name in STALENESS_COLUMNS}
#: Where TABLE_COLUMNS (but the last two, rung and next_step) are in a staleness row.
_TABLE_AT = tuple(_AT[c] for c in TABLE_COLUMNS[:-2])
_NET = {name: NETWORK_COLUMNS.index(name) for name in NETWORK_COLUMNS}


@dataclass(frozen=True)
class Contents:
    """What both reports show."""

    day: date
    rows: Sequence[Row]  # staleness rows, most urgent first
    networks: Sequence[Row]  # network rows (NETWORK_COLUMNS)
    steps: Mapping[int, tuple[str | None, str]]
    week: Sequence[Item]
    trend: Mapping[str, Sequence[tuple[str, float]]]  # network -> (run_at, pct in cadence)
    due_soon_days: int

    def table(self) -> list[list[object]]:
        """Everyone's row of TABLE_COLUMNS."""
        found = []
        for row in self.rows:
            rung, step = self.steps.get(int(str(row[_AT["contact_id"]])), (None, ""))
            found.append([*(row[i] for i in _TABLE_AT), rung or "", step])
        return found


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _script_json(value: object) -> str:
    """JSON to put inside a <script> element: nothing in it can close the element or open a
    comment (every <, > and & is a \\u escape)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#212529;margin:24px auto;max-width:1180px;
padding:0 16px;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #dee2e6}
.muted{color:#6c757d}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));
gap:14px}.card{border:1px solid #dee2e6;border-radius:6px;padding:12px}
.card h3{margin:0 0 2px;font-size:16px}.figures{display:flex;gap:18px;margin:6px 0}
.figures b{font-size:18px;display:block}.charts img{max-width:100%;display:block;margin-top:6px}
.week h3{font-size:15px;margin:14px 0 4px}.week li{margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e9ecef;
padding:3px 6px;text-align:left;vertical-align:top}th{cursor:pointer;background:#f8f9fa;
position:sticky;top:0}th.sorted::after{content:" \\2195"}
#filter{margin:6px 0;padding:4px;width:300px}
"""

_SCRIPT = """
(function(){
var data=JSON.parse(document.getElementById('people').textContent);
var columns=JSON.parse(document.getElementById('columns').textContent);
var body=document.querySelector('#everyone tbody');
var filter=document.getElementById('filter');
var order={key:-1,up:true};
var heads=document.querySelectorAll('#everyone th');
// The view lives in the address's fragment (#q=acme&sort=days_overdue&desc): a bookmark
// or a link opens the table filtered and sorted as it was.
function remember(){
  var view=new URLSearchParams();
  if(filter.value)view.set('q',filter.value);
  if(order.key>=0){view.set('sort',columns[order.key]);if(!order.up)view.set('desc','');}
  var text=view.toString();
  try{history.replaceState(null,'',text?'#'+text:location.pathname+location.search);}
  catch(e){}
}
function mark(){heads.forEach(function(h,i){h.classList.toggle('sorted',i===order.key);});}
function draw(){
  var words=filter.value.toLowerCase();
  var shown=data.filter(function(r){return !words||r.join(' ').toLowerCase().indexOf(words)>=0;});
  if(order.key>=0){var k=order.key,s=order.up?1:-1;shown.sort(function(a,b){
    var x=a[k],y=b[k];if(x===y)return 0;if(x===null||x==='')return 1;if(y===null||y==='')return -1;
    return (typeof x==='number'&&typeof y==='number'?x-y:String(x).localeCompare(String(y)))*s;});}
  var rows=document.createDocumentFragment();
  shown.forEach(function(r){var tr=document.createElement('tr');
    r.forEach(function(v){var td=document.createElement('td');
      td.textContent=v===null?'':String(v);tr.appendChild(td);});rows.appendChild(tr);});
  body.replaceChildren(rows);
  document.getElementById('count').textContent=shown.length+' of '+data.length;
}
heads.forEach(function(th,i){
  th.addEventListener('click',function(){order.up=order.key===i?!order.up:true;order.key=i;
    mark();draw();remember();});});
filter.addEventListener('input',function(){draw();remember();});
var asked=new URLSearchParams(location.hash.slice(1));
filter.value=asked.get('q')||'';
order.key=columns.indexOf(asked.get('sort'));
order.up=!asked.has('desc');
mark();
draw();
document.documentElement.dataset.ready='1';
})();
"""

#: Runs first: a page that fails says so on itself (the test reads it back).
_WATCH = (
    "window.addEventListener('error',function(e){var d=document.documentElement.dataset;"
    "d.errors=(d.errors?d.errors+' | ':'')+e.message;});"
)


def html_page(contents: Contents, charts: Mapping[str, Sequence[bytes]]) -> str:
    """The HTML report. `charts`: each network's PNG images (pipeline.charts)."""
    day = contents.day.isoformat()
    overdue = sum(int(str(n[_NET["overdue"]])) for n in contents.networks)
    parts = [
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>netgarden report, {day}</title><style>{_STYLE}</style>",
        f"<script>{_WATCH}</script></head><body>",
        f"<h1>netgarden: your networks as of {day}</h1>",
        f"<p class='muted'>{len(contents.rows)} people, {overdue} overdue, "
        f"{len(contents.week)} to contact this week.</p>",
        "<h2>Networks</h2><div class='cards'>",
    ]
    for network in contents.networks:
        name = str(network[_NET["network"]])
        pct = network[_NET["pct_in_cadence"]]
        figures = [
            ("people", network[_NET["contacts"]]),
            ("in cadence", "" if pct is None else f"{pct}%"),
            ("overdue", network[_NET["overdue"]]),
            ("due soon", network[_NET["due_soon"]]),
            ("never", network[_NET["never"]]),
        ]
        parts.append(
            f"<section class='card'><h3>{html.escape(name)}</h3>"
            f"<div class='muted'>{html.escape(_cell(network[_NET['value']]))}</div>"
            f"<div class='muted'>every {html.escape(_cell(network[_NET['cadence_days']]))} "
            "days</div><div class='figures'>"
            + "".join(
                f"<div><b>{html.escape(_cell(v))}</b><span class='muted'>{label}</span></div>"
                for label, v in figures
            )
            + "</div><div class='charts'>"
            + "".join(
                _img(png, f"{name}: chart {i + 1}") for i, png in enumerate(charts.get(name, ()))
            )
            + "</div></section>"
        )
    parts.append("</div><h2>This week</h2><div class='week'>")
    if not contents.week:
        parts.append("<p class='muted'>No one is overdue or due this week.</p>")
    current = None
    for item in contents.week:
        if item.network != current:
            if current is not None:
                parts.append("</ul>")
            current = item.network
            value = f" <span class='muted'>{html.escape(item.value)}</span>" if item.value else ""
            parts.append(f"<h3>{html.escape(item.network)}{value}</h3><ul>")
        who = html.escape(item.name)
        if item.email:
            who = f"<a href='mailto:{html.escape(quote(item.email, safe='@'))}'>{who}</a>"
        when = (
            f"overdue {item.days_overdue} days"
            if item.status == "overdue"
            else f"due {html.escape(item.due_date)}"
        )
        last = (
            f"; last {html.escape(item.last_contact)} by {html.escape(item.last_channel)}"
            if item.last_contact
            else ""
        )
        org = f" ({html.escape(item.organization)})" if item.organization else ""
        parts.append(
            f"<li>{who}{org}: {when}{last}; strength {item.strength}<br>"
            f"<span class='muted'>next:</span> {html.escape(item.next_step)}</li>"
        )
    if current is not None:
        parts.append("</ul>")
    header = "".join(f"<th>{html.escape(c)}</th>" for c in TABLE_COLUMNS)
    parts += [
        "</div><h2>Everyone</h2>",
        "<input id='filter' type='search' placeholder='filter: a name, network, status...'> ",
        "<span id='count' class='muted'></span>",
        f"<table id='everyone'><thead><tr>{header}</tr></thead><tbody></tbody></table>",
        f"<script id='columns' type='application/json'>{_script_json(TABLE_COLUMNS)}</script>",
        f"<script id='people' type='application/json'>{_script_json(contents.table())}</script>",
        f"<script>{_SCRIPT}</script></body></html>\n",
    ]
    return "".join(parts)


def markdown(contents: Contents) -> str:
    """The Markdown report: the same sections, without charts."""
    day = contents.day.isoformat()
    lines = [f"# netgarden: your networks as of {day}", "", "## Networks", ""]
    shown = ("network", "value", "cadence_days", "contacts", "pct_in_cadence", "overdue",
             "due_soon", "never")  # fmt: skip
    lines.append("| " + " | ".join(shown) + " |")
    lines.append("|" + "|".join(" --- " for _ in shown) + "|")
    lines += [
        "| " + " | ".join(markdown_text(_cell(n[_NET[c]])) for c in shown) + " |"
        for n in contents.networks
    ]
    lines += ["", "## This week", ""]
    if not contents.week:
        lines.append("No one is overdue or due this week.")
    current = None
    for item in contents.week:
        if item.network != current:
            current = item.network
            value = f": {markdown_text(item.value)}" if item.value else ""
            lines += ["", f"### {markdown_text(item.network)}{value}", ""]
        when = (
            f"overdue {item.days_overdue} days"
            if item.status == "overdue"
            else f"due {item.due_date}"
        )
        email = f" <{markdown_text(item.email)}>" if item.email else ""
        lines.append(
            f"- **{markdown_text(item.name)}**{email}: {when}; last "
            f"{markdown_text(item.last_contact)} by {markdown_text(item.last_channel)}; strength "
            f"{item.strength}; next: {markdown_text(item.next_step)}"
        )
    lines += ["", "## Everyone", ""]
    lines.append("| " + " | ".join(TABLE_COLUMNS) + " |")
    lines.append("|" + "|".join(" --- " for _ in TABLE_COLUMNS) + "|")
    lines += [
        "| " + " | ".join(markdown_text(_cell(v)) for v in row) + " |" for row in contents.table()
    ]
    return "\n".join(lines) + "\n"
