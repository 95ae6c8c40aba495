// One proposal: summary, the snapshot it relies on, consultation responses, the policy
// profile's conditions, its history, and the form for the signed-in person's step. Every
// write goes to the API, whose refusal message is shown as it is.
import { api, dl, el, fail, localInput, refusal, when, whoAmI } from "./common.js";
import { ndmFields, ndmValues } from "./ndm.js";

const $ = (id) => document.getElementById(id);
const pid = Number(location.pathname.split("/").pop());
let me = null; let p = null;

const CIA = [
  ["description", "Description of the proposed deployment"], ["geography", "Geography of the area"],
  ["likely_effect", "Likely effect on the community"], ["proportionality", "Why the response is proportionate"],
  ["tension_indicators", "Community tension indicators"],
  ["equality_eliminate_discrimination", "Equality: eliminating discrimination (s149(1)(a))"],
  ["equality_advance_opportunity", "Equality: advancing equality of opportunity (s149(1)(b))"],
  ["equality_good_relations", "Equality: fostering good relations (s149(1)(c))"],
  ["consultation_group", "Independent Advisory Group or community monitoring group consulted"],
  ["consultation_response", "What the group said"], ["mitigations", "Mitigations"],
  ["communication_plan", "Communication plan"], ["owner", "Owner (a role)"],
];
const OBJECTIVES = ["reduce harm", "reduce fear of crime", "reduce disorder"];

function textField(id, label, { area = false, value = "", type = "text" } = {}) {
  return [el("label", { for: id, text: label }),
    area ? el("textarea", { id, rows: "2" }, value) : el("input", { id, type, value })];
}
function done(message) {
  $("action-error").textContent = ""; $("action-ok").textContent = message;
  setTimeout(() => location.reload(), 600);
}
async function write(action, body) {
  $("action-error").textContent = ""; $("action-ok").textContent = "";
  try { const out = await api("POST", `/api/proposals/${pid}/${action}`, body); done(`Done: ${out.from_state} → ${out.to_state}.`); return true; }
  catch (err) { fail("action-error", err); return false; }
}

function assessForm() {
  const f = el("form", { id: "assess-form", novalidate: true },
    el("h3", { text: "Community impact assessment" }),
    ...CIA.flatMap(([k, label]) => textField(`cia-${k}`, label, { area: true })),
    el("fieldset", {}, el("legend", { text: "Objectives" }), ...OBJECTIVES.map((o, i) =>
      el("label", { class: "inline" }, el("input", { type: "checkbox", id: `cia-obj-${i}`, value: o }), ` ${o}`))),
    ...textField("cia-review_date", "Review date", { type: "date" }),
    el("button", { type: "submit", text: "Complete the assessment" }));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const assessment = Object.fromEntries(CIA.map(([k]) => [k, $(`cia-${k}`).value]));
    assessment.objectives = OBJECTIVES.filter((_, i) => $(`cia-obj-${i}`).checked);
    assessment.review_date = $("cia-review_date").value || null;
    await write("assess", { assessment, expected_version: p.version });
  });
  return f;
}

function consultForm() {
  const answered = new Set(p.consultations.map((c) => c.borough));
  const mine = p.boroughs.filter((b) => me.boroughs.includes(b) && !answered.has(b));
  const f = el("form", { id: "consult-form", novalidate: true }, el("h3", { text: "Borough commander's response" }),
    el("label", { for: "consult-borough", text: "Borough" }),
    el("select", { id: "consult-borough" }, ...(mine.length ? mine : me.boroughs).map((b) => el("option", { value: b, text: b }))),
    el("fieldset", {}, el("legend", { text: "Position" }),
      el("label", { class: "inline" }, el("input", { type: "radio", name: "position", value: "support", id: "pos-support", checked: true }), " support"),
      el("label", { class: "inline" }, el("input", { type: "radio", name: "position", value: "object", id: "pos-object" }), " object")),
    ...textField("consult-reasons", "Reasons", { area: true }),
    el("button", { type: "submit", text: "Record the response" }));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await write("consult", { borough: $("consult-borough").value, reasons: $("consult-reasons").value,
      position: f.querySelector("input[name=position]:checked").value, expected_version: p.version });
  });
  return f;
}

function authoriseForm() {
  // Empty start: now (inside the requested window once it has begun); a future requested
  // start is offered rounded up to the minute, so the window never starts before it.
  const reqStart = Date.parse(p.requested_start);
  const startValue = reqStart > Date.now() ? localInput(new Date(Math.ceil(reqStart / 60000) * 60000).toISOString()) : "";
  const hours = Math.max(0.5, Math.round((Date.parse(p.requested_end) - Date.parse(p.requested_start)) / 36e5 * 2) / 2);
  const f = el("form", { id: "authorise-form", novalidate: true }, el("h3", { text: "Decision" }),
    ...textField("auth-reasons", "Reasons for the decision", { area: true }),
    ...textField("auth-start", "Start (Europe/London; empty: now)", { type: "datetime-local", value: startValue }),
    ...textField("auth-hours", "Hours", { value: String(hours) }),
    ...textField("auth-tactical", "Tactical firearms commander (username)"),
    ...textField("auth-strategic", "Strategic firearms commander (username)"),
    ...textField("auth-notice", "Public notice", { area: true }),
    ...textField("auth-objection", "Response to any borough objection", { area: true }),
    el("fieldset", {}, el("legend", { text: "National Decision Model" }), ...ndmFields("auth-ndm", p.ndm_rationale)),
    el("div", { class: "row" },
      el("button", { type: "submit", id: "authorise-button", text: "Authorise…" }),
      el("button", { type: "button", id: "refuse-button", class: "secondary", text: "Refuse" })));
  const body = () => ({ reasons: $("auth-reasons").value, start: $("auth-start").value || null,
    hours: Number($("auth-hours").value), tactical_commander: $("auth-tactical").value || null,
    strategic_commander: $("auth-strategic").value || null, public_notice: $("auth-notice").value || null,
    objection_response: $("auth-objection").value || null, ndm: ndmValues("auth-ndm"), expected_version: p.version });
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    $("reauth-error").textContent = ""; $("reauth-password").value = ""; $("reauth-totp").value = "";
    $("reauth-dialog").showModal(); $("reauth-password").focus();
  });
  f.querySelector("#refuse-button").addEventListener("click", () =>
    write("refuse", { reasons: $("auth-reasons").value, expected_version: p.version }));
  $("reauth-cancel").addEventListener("click", () => $("reauth-dialog").close());
  $("reauth-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/auth/reauth", { password: $("reauth-password").value, totp: $("reauth-totp").value.trim() || null });
    } catch (err) { $("reauth-error").textContent = refusal(err); return; }
    $("reauth-dialog").close();
    await write("authorise", body());
  });
  return f;
}

function simpleForm(action, label, field, fieldLabel) {
  const f = el("form", { id: `${action}-form`, novalidate: true }, el("h3", { text: label }),
    ...textField(`${action}-${field}`, fieldLabel, { area: true }), el("button", { type: "submit", text: label }));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault(); await write(action, { [field]: $(`${action}-${field}`).value, expected_version: p.version });
  });
  return f;
}

function actions() {
  const r = me.roles; const forms = [];
  if (p.state === "draft" && p.proposer === me.username) {
    const f = el("form", { id: "submit-form" }, el("button", { type: "submit", text: "Submit" }));
    f.addEventListener("submit", async (ev) => { ev.preventDefault(); await write("submit", { expected_version: p.version }); });
    forms.push(f);
  }
  if (p.state === "submitted" && r.includes("community_lead")) forms.push(assessForm());
  if (p.state === "assessed" && r.includes("borough_commander")) forms.push(consultForm());
  if (p.state === "consulted" && r.includes("authorising_officer")) forms.push(authoriseForm());
  if (["authorised", "active"].includes(p.state) && r.includes("authorising_officer")) {
    forms.push(simpleForm("cancel", "Cancel the deployment", "reasons", "Reasons"));
  }
  if (p.state === "expired" && r.includes("authorising_officer")) {
    const f = el("form", { id: "debrief-form", novalidate: true }, el("h3", { text: "Debrief" }),
      ...textField("debrief-summary", "Summary", { area: true }), ...textField("debrief-sign_off", "Sign-off", { area: true }),
      el("button", { type: "submit", text: "Record the debrief" }));
    f.addEventListener("submit", async (ev) => { ev.preventDefault();
      await write("debrief", { summary: $("debrief-summary").value, sign_off: $("debrief-sign_off").value, expected_version: p.version }); });
    forms.push(f);
  }
  if (p.state === "debriefed" && (r.includes("strategic_firearms_commander") || r.includes("oversight_auditor"))) {
    forms.push(simpleForm("review", "Independent review", "findings", "Findings"));
  }
  if (forms.length) $("actions").replaceChildren(...forms);
}

function valueNode(v) {
  if (v && typeof v === "object" && !Array.isArray(v)) return dl(Object.entries(v).map(([k, x]) => [k.replaceAll("_", " "), valueNode(x)]));
  return Array.isArray(v) ? v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ") : String(v);
}

async function history() {
  const box = $("history");
  if (me.roles.includes("oversight_auditor") || me.roles.includes("administrator")) {
    const entries = await api("GET", `/web/data/proposals/${pid}/history`);
    box.replaceChildren(el("p", { class: "small", text: "Audit entries for this proposal." }), el("ol", { class: "history" },
      entries.map((e) => el("li", { text: `${when(e.recorded_at)} · ${e.actor} · ${e.action} · ${e.outcome}` }))));
    return;
  }
  const events = [
    ...p.consultations.map((c) => [c.at, `${c.commander} (${c.borough}) ${c.position === "support" ? "supported" : "objected"}: ${c.reasons}`]),
    ...p.decisions.map((d) => [d.at, `${d.kind} by ${d.by}${d.rank ? ` (${d.rank.replaceAll("_", " ")})` : ""}: ${d.reasons}`]),
  ].sort((a, b) => Date.parse(a[0]) - Date.parse(b[0]));
  box.replaceChildren(el("p", { class: "small", text: `Proposed by ${p.proposer}; state now: ${p.state}. The full audit trail is open to oversight auditors.` }),
    events.length ? el("ol", { class: "history" }, events.map(([at, t]) => el("li", { text: `${when(at)} · ${t}` }))) : el("p", { text: "No decisions yet." }));
}

/* global L */
async function areaMap() {
  if (typeof L === "undefined") return;
  const m = L.map("proposal-map", { attributionControl: false, zoomSnap: 0.25 });
  const area = await api("GET", `/web/data/proposals/${pid}/area.geojson`);
  const layer = L.geoJSON(area, { style: { color: "#b00020", weight: 3, fillOpacity: 0.12 } }).addTo(m);
  m.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 16 });
  try {
    const b = await api("GET", "/web/data/boundaries/boroughs.geojson");
    L.geoJSON(b, { style: { color: "#222", weight: 1.2, fill: false }, interactive: false }).addTo(m);
    const r = await api("GET", "/web/data/boundaries/roads.geojson");
    L.geoJSON(r, { style: { color: "#5b5b5b", weight: 1.5 }, interactive: false }).addTo(m);
  } catch { /* context is optional */ }
}

async function main() {
  me = await whoAmI();
  p = await api("GET", `/api/proposals/${pid}`);
  $("proposal-title").textContent = `Proposal #${p.id}: ${p.state}`;
  $("briefing-link").href = `/api/proposals/${p.id}/briefing`;
  document.body.dataset.boroughs = p.boroughs.join(" ");
  document.body.dataset.state = p.state;
  const t = p.trigger;
  $("summary").replaceWith(dl([["State", p.state], ["Proposer", p.proposer], ["Profile", p.profile],
    ["Trigger", t.type === "incident" ? `${t.offence || "incident"} at ${t.place || "—"}, ${when(t.occurred_at)}` : `intelligence item #${t.intelligence_item_id} (${t.grade})`],
    ["Boroughs", p.boroughs.join(", ")], ["Area", `${p.area_km2.toFixed(3)} km²`],
    ["Requested", `${when(p.requested_start)} to ${when(p.requested_end)}`],
    ["Authorised", p.authorised_start ? `${when(p.authorised_start)} to ${when(p.authorised_end)}` : "—"],
    ["Extensions", String(p.extensions_used)]]));
  $("consultations").replaceChildren(p.consultations.length ? el("ul", {}, p.consultations.map((c) =>
    el("li", { text: `${c.borough}: ${c.position} (${c.commander}, ${when(c.at)}): ${c.reasons}` }))) : el("p", { text: "None yet." }));
  if (p.snapshot_id) {
    try {
      const s = await api("GET", `/web/data/snapshots/${p.snapshot_id}`);
      $("snapshot").replaceChildren(dl([["Snapshot", `#${s.id}`], ["Method", s.method],
        ["Dataset", s.params.dataset || "—"], ["Made", when(s.created_at)], ["Digest (SHA-256)", s.digest],
        ["Window", s.map ? `${when(s.map.window_start)} to ${when(s.map.window_end)}` : "—"]]));
    } catch (err) { fail("snapshot", err); }
  }
  try { $("profile").replaceChildren(valueNode(await api("GET", `/api/profiles/${encodeURIComponent(p.profile)}`))); }
  catch (err) { fail("profile", err); }
  await areaMap().catch((err) => fail("proposal-error", err));
  await history().catch((err) => fail("history", err));
  actions();
}
main().catch((err) => fail("proposal-error", err));
