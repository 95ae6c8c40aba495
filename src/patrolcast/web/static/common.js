// Shared by every page: API calls (cookie session + CSRF header on writes), the signed-in
// person, dates in Europe/London with the zone, small DOM helpers. No external requests.
export const ZONE = "Europe/London";
const CSRF_KEY = "patrolcast.csrf";

export function setCsrf(token) { localStorage.setItem(CSRF_KEY, token || ""); }

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `request failed (${status})`);
    this.status = status; this.code = body && body.code; this.rule = body && body.rule;
  }
}

export async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = localStorage.getItem(CSRF_KEY) || "";
  }
  const res = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!res.ok) {
    if (res.status === 401 && data && data.code === "not-authenticated" && !path.startsWith("/api/auth/")) {
      location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    throw new ApiError(res.status, data);
  }
  return data;
}

// The API's own message, with the rule it names (the same text the CLI prints).
export function refusal(err) {
  if (err instanceof ApiError) return err.rule ? `${err.message} [rule: ${err.rule}]` : err.message;
  return String(err && err.message ? err.message : err);
}

const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, year: "numeric", month: "short",
  day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${fmt.format(d)} (${ZONE})`;
}

// A datetime-local value (London wall-clock, no offset: the API reads it as Europe/London).
export function localInput(iso) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .formatToParts(new Date(iso));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function dl(pairs) {
  const list = el("dl");
  for (const [k, v] of pairs) list.append(el("dt", { text: k }), el("dd", {}, v ?? "—"));
  return list;
}

export function localiseTimes(root = document) {
  for (const t of root.querySelectorAll("time.local-time")) t.textContent = when(t.dateTime);
}

export const ROLE_LABEL = {
  analyst: "analyst", intelligence_officer: "intelligence officer", community_lead:
  "community lead", borough_commander: "borough commander", authorising_officer:
  "authorising officer", oversight_auditor: "oversight auditor", administrator: "administrator",
  tactical_firearms_commander: "tactical firearms commander",
  strategic_firearms_commander: "strategic firearms commander",
};

export async function whoAmI() {
  if (document.body.dataset.public === "true") return null;
  const me = await api("GET", "/api/auth/me");
  const who = document.getElementById("who");
  const roles = me.roles.map((r) => ROLE_LABEL[r] || r).join(", ");
  who.replaceChildren(
    el("span", { text: `${me.username} (${roles}${me.rank ? `, ${me.rank.replaceAll("_", " ")}` : ""})` }),
    el("button", { type: "button", class: "secondary small-btn", id: "sign-out",
      onclick: async () => { try { await api("POST", "/api/auth/logout"); } finally {
        setCsrf(""); location.assign("/login"); } } }, "Sign out"));
  if (me.roles.includes("oversight_auditor") || me.roles.includes("administrator")) {
    for (const n of document.querySelectorAll(".auditor-only")) n.hidden = false;
  }
  for (const a of document.querySelectorAll("#main-nav a")) {
    if (a.getAttribute("href") === location.pathname) a.setAttribute("aria-current", "page");
  }
  return me;
}

export function fail(id, err) {
  const box = document.getElementById(id);
  if (box) box.textContent = refusal(err);
}
