// The intelligence picture: the newest forecast of each dataset coloured by expected harm or
// count (legend with units), the top 5% of the area outlined, the study area, context
// boundaries and major roads, place names on hover, active deployments with minutes left,
// graded intelligence (to roles allowed to see it). Leaflet is served by this server; no
// tile layer unless the force configured its own.
import { api, el, fail, refusal, when, whoAmI } from "./common.js";

/* global L */
const PALETTE = ["#fff5d6", "#fed47f", "#fc9a40", "#e2542a", "#a6111c"]; // light -> dark
const UNITS = { expected_harm: "expected harm (harm-weighted offences in the window)",
  expected_count: "expected count (offences in the window)" };
const state = { me: null, forecast: null, layer: null, outline: null, study: null, context: {},
  measure: "expected_harm", breaks: [], selected: null, deployments: null, intel: null,
  alerts: null, boroughs: null, wards: null, deploymentDoc: null, clockOffset: 0 };

const map = L.map("map", { zoomSnap: 0.25, keyboard: true, attributionControl: false })
  .setView([51.509, -0.118], 11);
map.createPane("context"); map.getPane("context").style.zIndex = 350;
map.getPane("context").style.pointerEvents = "none";
map.createPane("top"); map.getPane("top").style.zIndex = 450;
map.getPane("top").style.pointerEvents = "none";

function quantileBreaks(values) {
  const v = values.filter((x) => x > 0).sort((a, b) => a - b);
  if (!v.length) return [0, 0, 0, 0];
  return [0.5, 0.75, 0.9, 0.97].map((q) => v[Math.min(v.length - 1, Math.floor(q * v.length))]);
}
function colour(value) {
  let i = 0; while (i < state.breaks.length && value > state.breaks[i]) i += 1;
  return PALETTE[i];
}
function fmtNum(x) { return x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2); }

function legend() {
  const box = document.getElementById("legend");
  const b = state.breaks;
  const labels = [`≤ ${fmtNum(b[0])}`, `${fmtNum(b[0])}–${fmtNum(b[1])}`,
    `${fmtNum(b[1])}–${fmtNum(b[2])}`, `${fmtNum(b[2])}–${fmtNum(b[3])}`, `> ${fmtNum(b[3])}`];
  box.replaceChildren(el("p", { class: "legend-title", text: UNITS[state.measure] }),
    el("ul", { class: "plain" }, PALETTE.map((c, i) => el("li", {},
      el("span", { class: `swatch sw${i}`, "aria-hidden": "true" }), ` ${labels[i]}`))),
    el("p", { class: "small" }, el("span", { class: "swatch outline-top", "aria-hidden": "true" }),
      " top 5% of the area (by expected harm)"),
    el("p", { class: "small" }, el("span", { class: "swatch outline-study", "aria-hidden": "true" }),
      " study area"),
    el("p", { class: "small" }, el("span", { class: "swatch deploy", "aria-hidden": "true" }),
      " active or authorised deployment"),
    el("p", { class: "small" }, el("span", { class: "swatch intel", "aria-hidden": "true" }),
      " graded intelligence place"),
    el("p", { class: "small" }, el("span", { class: "swatch alert", "aria-hidden": "true" }),
      " near-repeat alert zone"));
}

function styleCell(f) {
  const sel = state.selected === f.properties.unit_id;
  return { fillColor: colour(f.properties[state.measure]), fillOpacity: 0.72,
    color: sel ? "#000" : "#7a7a7a", weight: sel ? 3 : 0.3 };
}

function restyle() {
  if (!state.forecast) return;
  state.breaks = quantileBreaks(state.forecast.features.map((f) => f.properties[state.measure]));
  state.layer.setStyle(styleCell);
  legend();
}

async function selectCell(uid) {
  state.selected = uid;
  if (state.layer) state.layer.setStyle(styleCell);
  const box = document.getElementById("cell");
  box.replaceChildren(el("h2", { class: "h3", text: "Selected cell" }), el("p", { text: "Loading…" }));
  try {
    const c = await api("GET", `/web/data/forecasts/${state.meta.snapshot_id}/cells/${encodeURIComponent(uid)}`);
    const rows = [["Cell", c.unit_id], ["Expected count", fmtNum(c.expected_count) + " offences"],
      ["Expected harm", fmtNum(c.expected_harm)], ["Rank", `${c.rank} of ${state.forecast.features.length}`],
      ["Top 5% of the area", c.top5 ? "yes" : "no"]];
    for (const [level, name] of Object.entries(c.places || {})) rows.push([level, name]);
    const parts = [el("h2", { class: "h3", text: `Selected cell ${c.unit_id}` }), dlOf(rows)];
    const terms = Object.entries(c.terms || {});
    parts.push(el("h3", { class: "h4", text: "Why it is raised" }));
    parts.push(terms.length ? el("ul", {}, terms.sort((a, b) => b[1] - a[1]).map(([k, v]) =>
      el("li", { text: `${k.replaceAll("_", " ")}: ${fmtNum(v)}` })))
      : el("p", { class: "small", text: "This forecast method records no explanation terms." }));
    parts.push(el("h3", { class: "h4", text: "Intelligence touching it" }));
    if (c.intelligence === null) parts.push(el("p", { class: "small", text: c.intelligence_note || "Not shown to your role." }));
    else if (!c.intelligence.length) parts.push(el("p", { class: "small", text: "None current." }));
    else parts.push(el("ul", {}, c.intelligence.map((i) => el("li", {
      text: `#${i.id} graded ${i.grading}, ${when(i.start)} to ${when(i.end)}${i.summary ? `: ${i.summary}` : ""}` }))));
    const roles = state.me ? state.me.roles : [];
    if (roles.includes("analyst") || roles.includes("intelligence_officer")) {
      parts.push(el("a", { class: "button", id: "propose-here",
        href: `/propose?snapshot=${state.meta.snapshot_id}&cell=${encodeURIComponent(c.unit_id)}` },
        "Propose a patrol here"));
    }
    box.replaceChildren(...parts);
  } catch (err) {
    box.replaceChildren(el("h2", { class: "h3", text: "Selected cell" }), el("p", { class: "error", role: "alert", text: refusal(err) }));
  }
}
function dlOf(rows) {
  const d = el("dl"); for (const [k, v] of rows) d.append(el("dt", { text: k }), el("dd", { text: String(v) })); return d;
}

async function loadForecast(meta) {
  state.meta = meta;
  for (const k of ["layer", "outline", "study"]) if (state[k]) { map.removeLayer(state[k]); state[k] = null; }
  const doc = await api("GET", `/web/data/forecasts/${meta.snapshot_id}.geojson`);
  state.forecast = doc;
  state.breaks = quantileBreaks(doc.features.map((f) => f.properties[state.measure]));
  state.layer = L.geoJSON(doc, { style: styleCell, onEachFeature: (f, layer) => {
    layer.on("click", () => selectCell(f.properties.unit_id));
  } }).addTo(map);
  state.study = L.geoJSON(doc.study_area, { pane: "top", style: { color: "#1d3557", weight: 2, dashArray: "6 4", fill: false } }).addTo(map);
  if (doc.top5_outline) state.outline = L.geoJSON(doc.top5_outline, { pane: "top", style: { color: "#006d77", weight: 3, fill: false } }).addTo(map);
  map.fitBounds(state.study.getBounds(), { padding: [10, 10] });
  document.getElementById("forecast-info").textContent =
    `${meta.method} forecast for ${when(meta.window_start)} to ${when(meta.window_end)}; ` +
    `snapshot #${meta.snapshot_id}, made ${when(meta.created_at)}.`;
  const pick = document.getElementById("cell-pick");
  const top = [...doc.features].sort((a, b) => a.properties.rank - b.properties.rank).slice(0, 20);
  pick.replaceChildren(el("option", { value: "", text: "choose a cell…" }), ...top.map((f) =>
    el("option", { value: f.properties.unit_id,
      text: `#${f.properties.rank} ${f.properties.unit_id} (${fmtNum(f.properties.expected_count)} expected)` })));
  legend();
  document.getElementById("map").dataset.forecast = String(meta.snapshot_id);
}

async function toggleContext(name, on) {
  if (!on) { if (state.context[name]) map.removeLayer(state.context[name]); return; }
  if (!state.context[name]) {
    try {
      const doc = await api("GET", `/web/data/boundaries/${name}.geojson`);
      if (name === "boroughs") state.boroughs = doc;
      if (name === "wards") state.wards = doc;
      const style = name === "roads" ? { color: "#5b5b5b", weight: 1.5, opacity: 0.8 }
        : { color: name === "boroughs" ? "#222" : "#6b6b6b", weight: name === "boroughs" ? 1.6 : 0.6, fill: false };
      state.context[name] = L.geoJSON(doc, { pane: "context", style, interactive: false });
    } catch (err) { fail("intel-note", err); return; }
  }
  state.context[name].addTo(map);
  document.getElementById("map").dataset[`layer${name}`] = "on";
}

// Place names on hover: which borough and ward hold the pointer (ray casting on the layers).
function inRing(pt, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < ((xj - xi) * (pt[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
function nameAt(doc, pt) {
  if (!doc) return null;
  for (const f of doc.features) {
    const g = f.geometry; if (!g) continue;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const p of polys) if (inRing(pt, p[0]) && !p.slice(1).some((h) => inRing(pt, h))) return f.properties.name;
  }
  return null;
}
map.on("mousemove", (ev) => {
  const pt = [ev.latlng.lng, ev.latlng.lat];
  const names = [nameAt(state.wards, pt), nameAt(state.boroughs, pt)].filter(Boolean);
  document.getElementById("hover").textContent = names.length ? names.join(", ") : "";
});

// Deployments are read (an audited read) every five minutes; the time left is counted down
// each minute against the server's clock.
function renderDeployments() {
  const list = document.getElementById("deployments");
  const doc = state.deploymentDoc; if (!doc) return;
  const now = Date.now() + state.clockOffset;
  list.replaceChildren(...(doc.features.length ? doc.features.map((f) => {
    const p = f.properties;
    const m = Math.max(0, Math.floor((Date.parse(p.end) - now) / 60000));
    const left = p.state === "active" ? `${Math.floor(m / 60)} h ${m % 60} min left` : `starts ${when(p.start)}`;
    return el("li", { class: "deployment", "data-id": p.id },
      el("a", { href: `/proposals/${p.id}`, text: `#${p.id} ${p.state}` }), `: ${left} (ends ${when(p.end)})`);
  }) : [el("li", { text: "None active." })]));
}

async function loadDeployments() {
  const list = document.getElementById("deployments");
  try {
    const doc = await api("GET", "/web/data/deployments.geojson");
    state.clockOffset = Date.parse(doc.now) - Date.now();
    state.deploymentDoc = doc;
    if (state.deployments) map.removeLayer(state.deployments);
    state.deployments = L.geoJSON(doc, { pane: "top", style: { color: "#b00020", weight: 3, fill: false } }).addTo(map);
    renderDeployments();
  } catch (err) { list.replaceChildren(el("li", { class: "error", text: refusal(err) })); }
}

async function loadAlerts() {
  const note = document.getElementById("alert-note");
  try {
    const doc = await api("GET", "/web/data/alerts.geojson");
    if (state.alerts) map.removeLayer(state.alerts);
    state.alerts = L.geoJSON(doc, { pane: "top", style: { color: "#c25e00", weight: 2, dashArray: "8 3", fill: false } }).addTo(map);
    note.textContent = doc.features.length ? `${doc.features.length} raised cell(s) from ${doc.source}.` : "No current alert.";
  } catch (err) { note.textContent = `Not shown: ${refusal(err)}`; }
}

async function loadIntel() {
  const note = document.getElementById("intel-note");
  try {
    const doc = await api("GET", "/web/data/intel.geojson");
    if (state.intel) map.removeLayer(state.intel);
    state.intel = L.geoJSON(doc, { pane: "top", style: { color: "#5e3c99", weight: 2, dashArray: "2 4", fill: false } }).addTo(map);
    note.textContent = `${doc.features.length} current item(s) shown.`;
  } catch (err) { note.textContent = `Not shown: ${refusal(err)}`; }
}

async function main() {
  state.me = await whoAmI();
  const cfg = await api("GET", "/web/data/config");
  if (cfg.tile_url) L.tileLayer(cfg.tile_url, { maxZoom: 19 }).addTo(map);
  for (const box of document.querySelectorAll("input[data-layer]")) {
    box.addEventListener("change", () => toggleContext(box.dataset.layer, box.checked));
  }
  for (const r of document.querySelectorAll("input[name=measure]")) {
    r.addEventListener("change", () => { state.measure = r.value; restyle(); });
  }
  document.getElementById("cell-pick").addEventListener("change", (ev) => {
    if (ev.target.value) selectCell(ev.target.value);
  });
  const metas = await api("GET", "/web/data/forecasts");
  const sel = document.getElementById("dataset");
  sel.replaceChildren(...metas.map((m, i) => el("option", { value: String(i), text: `${m.dataset} (${m.method})` })));
  sel.addEventListener("change", () => loadForecast(metas[Number(sel.value)]));
  const ctx = [...document.querySelectorAll("input[data-layer]")].filter((b) => b.checked)
    .map((b) => toggleContext(b.dataset.layer, true));
  if (metas.length) await loadForecast(metas[0]);
  else document.getElementById("forecast-info").textContent = "No forecast on this server yet.";
  await Promise.all([...ctx, loadDeployments(), loadIntel(), loadAlerts()]);
  setInterval(renderDeployments, 60000);
  setInterval(loadDeployments, 300000);
  document.getElementById("map").dataset.ready = "true";
}
main().catch((err) => fail("forecast-info", err));
