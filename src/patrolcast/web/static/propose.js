// Propose from a forecast cell: the cell's box (British National Grid) and the snapshot it
// relies on come from the map; the API validates and refuses as it would for the CLI.
import { api, fail, el, whoAmI } from "./common.js";
import { ndmFields, ndmValues } from "./ndm.js";

const $ = (id) => document.getElementById(id);
const num = (id) => ($(id).value.trim() === "" ? null : Number($(id).value));

async function main() {
  await whoAmI();
  $("ndm-fields").append(...ndmFields("ndm"));
  const profiles = await api("GET", "/api/profiles");
  const names = [...new Set(profiles.map((p) => p.name))];
  $("profile").replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
  $("profile").value = names.includes("armed-foot-patrol") ? "armed-foot-patrol" : names[0];
  const q = new URLSearchParams(location.search);
  if (q.get("snapshot") && q.get("cell")) {
    const c = await api("GET", `/web/data/forecasts/${q.get("snapshot")}/cells/${encodeURIComponent(q.get("cell"))}`);
    ["xmin", "ymin", "xmax", "ymax"].forEach((k, i) => { $(k).value = String(c.bbox[i]); });
    $("snapshot_id").value = q.get("snapshot");
    const where = Object.values(c.places || {}).join(", ");
    $("place").value = where;
    $("propose-from").textContent = `From forecast cell ${c.unit_id} (rank ${c.rank}, ${c.expected_count.toFixed(2)} offences expected${where ? `, ${where}` : ""}).`;
  }
  $("propose-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("propose-error").textContent = "";
    const kind = $("trigger-kind").value;
    const trigger = kind === "incident"
      ? { kind, offence: $("offence").value || null, place: $("place").value || null,
        occurred_at: $("occurred_at").value || null }
      : { kind, intelligence_item_id: num("intel_id"), grade: $("grade").value || null };
    try {
      const out = await api("POST", "/api/proposals", {
        trigger,
        area: { bbox: [num("xmin"), num("ymin"), num("xmax"), num("ymax")], crs: "EPSG:27700" },
        start: $("start").value || null, hours: num("hours"),
        ndm: ndmValues("ndm"), snapshot_id: num("snapshot_id"), profile: $("profile").value,
      });
      location.assign(`/proposals/${out.proposal_id}`);
    } catch (err) { fail("propose-error", err); }
  });
}
main().catch((err) => fail("propose-error", err));
