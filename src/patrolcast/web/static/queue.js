// Proposals waiting for the signed-in person (by the step their role plays in each state),
// then the others they may see. The server decides who may read and act; this only sorts.
import { api, el, fail, when, whoAmI } from "./common.js";

function waitingFor(me, p) {
  const r = me.roles;
  if (p.state === "draft") return p.proposer === me.username;
  if (p.state === "submitted") return r.includes("community_lead") && p.proposer !== me.username;
  if (p.state === "assessed") {
    const answered = new Set(p.consultations.map((c) => c.borough));
    return r.includes("borough_commander") && p.boroughs.some((b) => me.boroughs.includes(b) && !answered.has(b));
  }
  if (p.state === "consulted") return r.includes("authorising_officer") && p.proposer !== me.username;
  if (p.state === "expired") return r.includes("authorising_officer");
  if (p.state === "debriefed") return r.includes("strategic_firearms_commander") || r.includes("oversight_auditor");
  return false;
}

function table(rows, caption) {
  if (!rows.length) return el("p", { text: "None." });
  return el("div", { class: "table-wrap" }, el("table", {},
    el("caption", { class: "visually-hidden", text: caption }),
    el("thead", {}, el("tr", {}, ["Proposal", "State", "Boroughs", "Requested window", "Proposer", "Trigger"]
      .map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((p) => el("tr", {},
      el("th", { scope: "row" }, el("a", { href: `/proposals/${p.id}`, text: `#${p.id}` })),
      el("td", { text: p.state }), el("td", { text: p.boroughs.join(", ") }),
      el("td", { text: `${when(p.requested_start)} to ${when(p.requested_end)}` }),
      el("td", { text: p.proposer }), el("td", { text: p.trigger.offence || `intelligence ${p.trigger.grade || ""}` }))))));
}

async function main() {
  const me = await whoAmI();
  const all = await api("GET", "/api/proposals");
  const mine = all.filter((p) => waitingFor(me, p));
  const rest = all.filter((p) => !waitingFor(me, p));
  document.getElementById("waiting").replaceChildren(table(mine, "Waiting for you"));
  document.getElementById("others").replaceChildren(table(rest, "Other proposals"));
}
main().catch((err) => fail("queue-error", err));
