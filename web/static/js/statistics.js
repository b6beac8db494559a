// The statistics page: a range of local days and an organisation, the report's tiles
// (GET /statistics), charts of trips and cost per day, alerts by kind and disposition and
// utilisation per car, the cars' table, punctuality, and CSV / XLSX downloads of the same
// figures (GET /statistics.csv, /statistics.xlsx).

import "./labels_statistics.js";
import { api, apiAll } from "./api.js";
import { lang, onLangChange, t } from "./i18n.js";
import { emptyChart, legend, stackedBarChart } from "./charts.js";
import { hBarChart } from "./stat_charts.js";
import { attempt, esc, formatMoney, formatPercent, say, startPage, todayInZone } from "./ui.js";

const MAX_DAYS = 366;
const COLOURS = { completed: "#2e7d32", open: "#90a4ae", pool: "#1e63c4", lease: "#8e44ad", alert: "#c62828" };
const STATE_COLOURS = { open: "#ef8f00", under_review: "#1e63c4", confirmed: "#c62828", justified: "#2e7d32",
  false_positive: "#8d949b" };

let me = null;
let organisations = [];
let report = null;

/** The label of ``key``, or ``fallback`` where the catalogue has none (never a raw value). */
function named(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

const kindName = (kind) => named(`ak.${kind}`, t("stats.kind.other"));
const stateName = (state) => named(`as.${state}`, t("stats.kind.other"));
const energyName = (energy) => named(`stats.energy.${energy}`, t("stats.energy.other"));
const ownershipName = (own) => named(`own.${own}`, t("stats.own.other"));
const number = (v, digits = 1) => Number(v || 0).toLocaleString(lang() === "zh" ? "zh-CN" : "en",
  { maximumFractionDigits: digits });

function shiftDay(day, days) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function query() {
  const q = { since: document.getElementById("stats-since").value, until: document.getElementById("stats-until").value };
  const org = document.getElementById("stats-org").value;
  if (org) q.org_id = org;
  return q;
}

function setDownloads(q) {
  const qs = new URLSearchParams(q).toString();
  document.getElementById("stats-csv").href = `/api/v1/statistics.csv?${qs}`;
  document.getElementById("stats-xlsx").href = `/api/v1/statistics.xlsx?${qs}`;
}

function tile(labelKey, value, sub = "") {
  return `<div class="tile"><span>${esc(t(labelKey))}</span><b>${esc(value)}</b>${sub ? `<small>${esc(sub)}</small>` : ""}</div>`;
}

function renderTiles(r) {
  const p = r.punctuality;
  document.getElementById("stats-tiles").innerHTML = [
    tile("stats.tile.trips", number(r.trips_planned, 0), t("stats.tile.completed", { n: number(r.trips_completed, 0) })),
    tile("stats.tile.km", t("stats.tile.kmUnit", { km: number(r.km) }), t("stats.tile.driven", { n: number(r.trips_driven, 0) })),
    tile("stats.tile.pool", t("stats.tile.money", { v: formatMoney(r.pool.cost_planned_cny) }),
      t("stats.tile.trips.of", { n: number(r.pool.trips_planned, 0) })),
    tile("stats.tile.lease", t("stats.tile.money", { v: formatMoney(r.lease.cost_planned_cny) }),
      t("stats.tile.trips.of", { n: number(r.lease.trips_planned, 0) })),
    tile("stats.tile.nev", formatPercent(r.nev_km_share), t("stats.tile.nevKm", { km: number(r.nev_km) })),
    tile("stats.tile.punctual", p.available ? formatPercent(p.on_time_share) : t("stats.none")),
    tile("stats.tile.alerts", number(r.alerts_total, 0)),
  ].join("");
}

/** The days of the report in bars a chart can show: days up to a month, else weeks (from
 * the range's first day), else calendar months; each bucket {label, planned, completed, pool, lease}. */
function buckets(perDay) {
  const unit = perDay.length <= 31 ? "day" : perDay.length <= 120 ? "week" : "month";
  const out = [];
  perDay.forEach((d, i) => {
    const key = unit === "day" ? d.day.slice(5) : unit === "week" ? Math.floor(i / 7) : d.day.slice(0, 7);
    let bucket = out[out.length - 1];
    if (!bucket || bucket.key !== key) {
      bucket = { key, label: unit === "month" ? key : d.day.slice(5), planned: 0, completed: 0, pool: 0, lease: 0 };
      out.push(bucket);
    }
    bucket.planned += d.trips_planned;
    bucket.completed += d.trips_completed;
    bucket.pool += d.pool_cost_cny;
    bucket.lease += d.lease_cost_cny;
  });
  return { unit, bars: out };
}

function renderCharts(r) {
  const { unit, bars } = buckets(r.per_day);
  const labels = bars.map((b) => b.label);
  const anyTrips = bars.some((b) => b.planned);
  const trips = [
    { name: t("stats.series.completed"), colour: COLOURS.completed, values: bars.map((b) => b.completed) },
    { name: t("stats.series.open"), colour: COLOURS.open, values: bars.map((b) => b.planned - b.completed) },
  ];
  const cost = [
    { name: t("stats.series.pool"), colour: COLOURS.pool, values: bars.map((b) => b.pool) },
    { name: t("stats.series.lease"), colour: COLOURS.lease, values: bars.map((b) => b.lease) },
  ];
  document.getElementById("caption-trips").textContent = t(`stats.chart.trips.${unit}`);
  document.getElementById("caption-cost").textContent = t(`stats.chart.cost.${unit}`);
  document.getElementById("chart-trips").innerHTML = anyTrips
    ? stackedBarChart(labels, trips) + legend(trips) : emptyChart(t("stats.empty.trips"));
  document.getElementById("chart-cost").innerHTML = anyTrips
    ? stackedBarChart(labels, cost, { format: (v) => formatMoney(v) }) + legend(cost) : emptyChart(t("stats.empty.trips"));
  const kinds = Object.entries(r.alerts_by_kind).sort((a, b) => b[1] - a[1]);
  document.getElementById("chart-alerts").innerHTML = kinds.length
    ? hBarChart(kinds.map(([k, n]) => ({ label: kindName(k), value: n })), { colour: COLOURS.alert })
    : emptyChart(t("stats.empty.alerts"));
  const states = Object.entries(r.alerts_by_state).sort((a, b) => b[1] - a[1]);
  document.getElementById("chart-states").innerHTML = states.length
    ? hBarChart(states.map(([s, n]) => ({ label: stateName(s), value: n, colour: STATE_COLOURS[s] })))
    : emptyChart(t("stats.empty.alerts"));
  document.getElementById("chart-util").innerHTML = r.cars.some((c) => c.utilisation > 0)
    ? hBarChart(r.cars.filter((c) => c.utilisation > 0).slice(0, 30).map((c) => ({ label: c.plate, value: c.utilisation })),
      { format: (v) => formatPercent(v), colour: COLOURS.pool })
    : emptyChart(t("stats.empty.util"));
}

function renderPunctuality(r) {
  const p = r.punctuality;
  const box = document.getElementById("stats-punctuality");
  if (!p.available) {
    box.innerHTML = `<p class="note">${esc(named(`stats.punct.${p.reason}`, t("stats.punct.no_linked_trips")))}</p>`;
    return;
  }
  box.innerHTML = [
    t("stats.punct.summary", { n: p.measured, on: p.on_time, share: formatPercent(p.on_time_share), tol: p.tolerance_s / 60 }),
    t("stats.punct.delay", { mean: number(p.mean_delay_min), median: number(p.median_delay_min) }),
    t("stats.punct.wait", { mean: number(p.mean_wait_min), max: number(p.max_wait_min) }),
  ].map((line) => `<p>${esc(line)}</p>`).join("");
}

let showIdle = false;

function renderCars(r) {
  const table = document.getElementById("stats-cars");
  const idle = r.cars.filter((c) => !c.trips);
  const toggle = document.getElementById("stats-idle");
  toggle.hidden = !idle.length;
  toggle.textContent = t(showIdle ? "stats.idle.hide" : "stats.idle.show", { n: idle.length });
  const cars = showIdle ? r.cars : r.cars.filter((c) => c.trips);
  if (!cars.length) {
    table.innerHTML = `<tr><td>${esc(t(r.cars.length ? "stats.empty.util" : "stats.empty.cars"))}</td></tr>`;
    return;
  }
  const cols = ["plate", "ownership", "energy", "trips", "km", "hours", "util", "perDay"];
  const head = `<tr>${cols.map((c) => `<th>${esc(t(`stats.col.${c}`))}</th>`).join("")}</tr>`;
  const rows = cars.map((c) => `<tr><td>${esc(c.plate)}</td><td>${esc(ownershipName(c.ownership))}</td>
    <td>${esc(energyName(c.energy))}</td><td class="num">${esc(number(c.trips, 0))}</td><td class="num">${esc(number(c.km))}</td>
    <td class="num">${esc(number(c.trip_hours))}</td><td class="num">${esc(formatPercent(c.utilisation))}</td>
    <td class="num">${esc(number(c.trips_per_working_day, 2))}</td></tr>`).join("");
  table.innerHTML = head + rows;
}

function render() {
  if (!report) return;
  const r = report;
  const status = [t("stats.range", { org: r.org_name, since: r.since, until: r.until, days: r.days,
    working: r.working_days, hours: r.working_hours_per_day })];
  if (r.calendar_warnings.length) status.push(t("stats.warning"));
  document.getElementById("stats-range").textContent = status.join(" · ");
  renderTiles(r);
  renderCharts(r);
  renderPunctuality(r);
  renderCars(r);
}

async function load() {
  const q = query();
  if (!q.since || !q.until) return;
  if (q.until < q.since) {
    say(t("stats.badRange"), "error");
    return;
  }
  if ((new Date(q.until) - new Date(q.since)) / 86400000 + 1 > MAX_DAYS) {
    say(t("stats.tooLong", { max: MAX_DAYS }), "error");
    return;
  }
  setDownloads(q);
  document.getElementById("stats-range").textContent = t("stats.loading");
  const answer = await attempt(() => api("/statistics", { query: q }), document.querySelector("#stats-form button"));
  if (answer) {
    report = answer;
    render();
  }
}

function renderOrganisations() {
  const select = document.getElementById("stats-org");
  const current = select.value || new URLSearchParams(location.search).get("org_id") || String(me.org_id);
  select.innerHTML = organisations.map((o) => `<option value="${o.id}">${esc(o.name)}</option>`).join("");
  select.value = current;
}

async function main() {
  me = await attempt(startPage);
  if (!me) return;
  const asked = new URLSearchParams(location.search);
  const until = asked.get("until") || todayInZone();
  document.getElementById("stats-until").value = until;
  document.getElementById("stats-since").value = asked.get("since") || shiftDay(until, -29);
  organisations = ((await attempt(() => apiAll("/organisations"))) || [])
    .sort((a, b) => a.path.localeCompare(b.path));
  renderOrganisations();
  document.getElementById("stats-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  document.getElementById("stats-idle").addEventListener("click", () => {
    showIdle = !showIdle;
    if (report) renderCars(report);
  });
  onLangChange(render);
  await load();
  document.body.dataset.ready = "true";
}

main();
