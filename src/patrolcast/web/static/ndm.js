import { el } from "./common.js";
export const NDM = [
  ["code_of_ethics", "Code of Ethics"],
  ["information_and_intelligence", "Information and intelligence"],
  ["threat_risk_and_strategy", "Threat, risk and working strategy"],
  ["powers_and_policy", "Powers and policy"],
  ["options_and_contingencies", "Options and contingencies"],
  ["action_and_review", "Action and review"],
];
export function ndmFields(prefix, values = {}) {
  return NDM.flatMap(([key, label]) => [
    el("label", { for: `${prefix}-${key}`, text: label }),
    el("textarea", { id: `${prefix}-${key}`, name: key, rows: "2", required: true }, values[key] || ""),
  ]);
}
export function ndmValues(prefix) {
  return Object.fromEntries(NDM.map(([key]) => [key, document.getElementById(`${prefix}-${key}`).value]));
}
