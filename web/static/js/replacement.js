// Replacement planning: age distribution of the fleet, NEV share and spend per plan year.

import { api, apiAll } from "./api.js";
import { onLangChange, t } from "./i18n.js";
import { barChart, lineChart } from "./charts.js";
import { attempt, esc, say, startPage } from "./ui.js";

let figures = null;

function render() {
  if (!figures) return;
  document.getElementById("chart-age").innerHTML = barChart(
    figures.age_histogram.map((a) => ({ label: `${a.age_years}`, value: a.count })), { colour: "#1e63c4" });
  document.getElementById("chart-nev").innerHTML = lineChart(
    figures.years.map((y) => ({ label: String(y.year), value: y.nev_share })),
    { max: 1, format: (v) => `${Math.round(100 * v)}%` });
  document.getElementById("chart-spend").innerHTML = barChart(
    figures.years.map((y) => ({ label: String(y.year), value: y.spend_cny / 10000 })),
    { colour: "#ef8f00", format: (v) => v.toFixed(0) });
  document.getElementById("plan-note").textContent = figures.plan_id ? `#${figures.plan_id}` : "";
}

async function load(orgId) {
  try {
    figures = await api("/replacement/figures", { query: { org_id: orgId } });
    render();
  } catch (error) {
    say(t("replacement.unavailable", { detail: error.message }), "error");
  }
}

onLangChange(render);

async function main() {
  const me = await attempt(() => startPage());
  if (!me) return;
  const select = document.getElementById("org");
  const orgs = (await attempt(() => apiAll("/organisations"))) || [];
  select.innerHTML = orgs.filter((o) => o.level !== "agency")
    .map((o) => `<option value="${o.id}"${o.id === me.org_id ? " selected" : ""}>${esc(o.name)}</option>`).join("");
  select.addEventListener("change", () => load(Number(select.value)));
  await load(me.org_id);
  document.body.dataset.ready = "true";
}

main();
