"""The public transparency page: the published monthly reports, their downloads and the audit
log's public key. No sign-in; it shows only what was published (suppressed counts), read from
``transparency-YYYY-MM.json`` files written by ``patrolcast report transparency`` (or the demo
world). All text is escaped."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

__all__ = ["published_months", "transparency_page"]

_MONTH = re.compile(r"transparency-(\d{4}-\d{2})\.json")
e = html.escape


def published_months(folder: Path) -> list[str]:
    """Months with a published JSON report, newest first."""
    if not folder.is_dir():
        return []
    found = (_MONTH.fullmatch(p.name) for p in folder.iterdir())
    return sorted((m.group(1) for m in found if m), reverse=True)


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"<h3>{e(title)}</h3><p>No rows.</p>"
    cols = list(rows[0])
    head = "".join(f"<th scope='col'>{e(str(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(
            (f"<th scope='row'>{e(str(r[c]))}</th>" if i == 0 else f"<td>{e(str(r[c]))}</td>")
            for i, c in enumerate(cols)
        ) + "</tr>"
        for r in rows
    )
    return (f"<section class='table-wrap'><h3>{e(title)}</h3><table><thead><tr>{head}</tr>"
            f"</thead><tbody>{body}</tbody></table></section>")


def _downloads(folder: Path, month: str) -> str:
    items = []
    for ext, label in (("html", "report (HTML)"), ("csv", "tables (CSV)"),
                       ("geojson", "by borough (GeoJSON)"), ("json", "report (JSON)")):
        name = f"transparency-{month}.{ext}"
        if (folder / name).exists():
            items.append(f"<li><a href='/transparency/files/{e(name)}' download>"
                         f"{e(month)} {e(label)}</a></li>")
    items.append("<li><a href='/api/audit/public-key'>the audit log's public key (PEM)</a>"
                 "</li>")
    return "<h2>Downloads</h2><ul class='downloads'>" + "".join(items) + "</ul>"


def transparency_page(folder: Path, month: str | None) -> str:
    """The page body for ``month`` (default: the newest published)."""
    months = published_months(folder)
    intro = ("<h1>Targeted patrols: transparency</h1><p>Every proposal for a short, "
             "targeted armed patrol in a small area, what was decided and by which rank. "
             "Counts of 1 and 2 are shown as &lt;3, and further cells are withheld as [c] "
             "where they would reveal one. Places only: never lists of people.</p>")
    if not months:
        return intro + "<p>No report has been published yet.</p>" + _downloads(folder, "none")
    chosen = month if month in months else months[0]
    doc = json.loads((folder / f"transparency-{chosen}.json").read_text(encoding="utf-8"))
    nav = "".join(
        f"<li><a href='/transparency?month={e(m)}'"
        + (" aria-current='page'" if m == chosen else "") + f">{e(m)}</a></li>"
        for m in months
    )
    parts = [intro, f"<nav aria-label='Published months'><ul class='months'>{nav}</ul></nav>",
             f"<h2>Report for {e(chosen)}</h2>",
             f"<p>Generated <time class='local-time' datetime='{e(doc['generated_at'])}'>"
             f"{e(doc['generated_at'])}</time>"
             + (f" by {e(str(doc['organisation']))}" if doc.get("organisation") else "")
             + ".</p>"]
    parts.extend(f"<p class='warning' role='alert'><strong>Warning:</strong> {e(str(w))}</p>"
                 for w in doc.get("warnings", []))  # e.g. the organisation is not configured
    parts.append("<h3>Headline</h3><dl class='headline'>")
    flags = doc.get("headline_flags", {})
    for key, value in doc.get("headline", {}).items():
        flag = f" ({flags[key]})" if flags.get(key) else ""
        parts.append(f"<dt>{e(key.replace('_', ' '))}</dt><dd>{e(str(value))}{e(flag)}</dd>")
    parts.append("</dl>")
    for table in doc.get("tables", {}).values():
        parts.append(_table(str(table.get("title", "")), list(table.get("rows", []))))
    notes = doc.get("notes", [])
    if notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{e(str(n))}</li>" for n in notes)
                     + "</ul>")
    key = doc.get("audit_public_key")
    if key:
        parts.append(f"<h3>Verifying the audit log</h3><p>Exports are signed with "
                     f"{e(key['algorithm'])}; fingerprint <code>{e(key['fingerprint'])}</code>."
                     f"</p><pre>{e(key['pem'])}</pre>")
    atrs = doc.get("algorithm_transparency_record", {})
    if atrs:
        parts.append("<h3>Algorithmic Transparency Recording Standard record</h3>")
        for section, fields in atrs.items():
            parts.append(f"<h4>{e(section)}</h4><dl>" + "".join(
                f"<dt>{e(k)}</dt><dd>{e(str(v))}</dd>" for k, v in fields.items()) + "</dl>")
    parts.append(_downloads(folder, chosen))
    if doc.get("licence"):
        parts.append(f"<p class='licence'>{e(str(doc['licence']))}</p>")
    return "".join(parts)
