// The audit log for oversight auditors: every entry, filters, and the verification result
// (chain, signed checkpoints, tables) with the server's public key.
import { api, el, fail, when, whoAmI } from "./common.js";

const $ = (id) => document.getElementById(id);
let entries = [];

function render() {
  const f = { actor: $("f-actor").value.trim().toLowerCase(), action: $("f-action").value.trim().toLowerCase(),
    outcome: $("f-outcome").value, target: $("f-target").value.trim().toLowerCase() };
  const rows = entries.filter((e) => (!f.actor || String(e.actor).toLowerCase().includes(f.actor))
    && (!f.action || String(e.action).toLowerCase().includes(f.action))
    && (!f.outcome || e.outcome === f.outcome)
    && (!f.target || `${e.target_type}:${e.target_id}`.toLowerCase().includes(f.target)));
  $("audit-count").textContent = `${rows.length} of ${entries.length} entries.`;
  $("audit-table").replaceChildren(el("table", {}, el("caption", { class: "visually-hidden", text: "Audit entries" }),
    el("thead", {}, el("tr", {}, ["Seq", "When", "Actor", "Action", "Target", "Outcome", "Detail"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.slice(-500).reverse().map((e) => el("tr", { class: `outcome-${e.outcome}` },
      el("th", { scope: "row", text: String(e.seq) }), el("td", { text: when(e.recorded_at) }), el("td", { text: e.actor }),
      el("td", { text: e.action }), el("td", { text: `${e.target_type} ${e.target_id}` }), el("td", { text: e.outcome }),
      el("td", { class: "detail", text: typeof e.detail === "string" ? e.detail : JSON.stringify(e.detail || {}) }))))));
}

async function main() {
  await whoAmI();
  for (const id of ["f-actor", "f-action", "f-outcome", "f-target"]) $(id).addEventListener("input", render);
  $("audit-filter").addEventListener("submit", (ev) => ev.preventDefault());
  const out = await api("GET", "/web/data/audit");
  entries = out.entries;
  const v = out.verify;
  $("verify").replaceChildren(el("p", { class: v.ok ? "ok" : "error", id: "verify-result",
    text: v.ok ? `Verified: ${v.entries} entries, head #${v.head_seq}, signed up to #${v.signed_seq ?? "—"}, ${v.rows_checked} rows checked.`
      : `NOT verified: ${v.problems.join("; ")}` }),
  ...(v.notes || []).map((n) => el("p", { class: "small", text: n })),
  el("p", { class: "small" }, "Public key: ", el("a", { href: "/api/audit/public-key", text: "/api/audit/public-key" })));
  render();
}
main().catch((err) => { fail("audit-error", err); $("verify").replaceChildren(); });
