// Replacement planning (/replacement): compute a plan for an organisation's subtree under its
// policy (or with settings changed for one computation), read it per year with every car's
// reason in the page's language, compare two plans side by side, save one, and chart the
// fleet's ages and the newest saved plan.

import { api, apiAll } from "./api.js";
import { label, lang, onLangChange, t } from "./i18n.js";
import "./labels_replacement.js";
import {
  barChart, emptyChart, groupedBarChart, legend, multiLineChart, stackedBarChart, swatch,
} from "./charts.js";
import { explain } from "./refusals.js";
import { attempt, esc, formatMoney, formatPercent, formatTime, say, startPage } from "./ui.js";

/** Seconds the optimiser may spend on one plan. */
const TIME_LIMIT_S = 20;
const COLOURS = { nev: "#2e7d32", other: "#1e63c4", rightSized: "#8d949b", spend: "#ef8f00", floor: "#c62828",
                  a: "#1e63c4", b: "#ef8f00" };

/** The policy settings the form shows: API value <-> the number in the field. */
const FIELDS = [
  { name: "min_service_years", step: "0.5", shown: (v) => v, api: (v) => v },
  { name: "min_odometer_km", step: "1000", shown: (v) => v, api: (v) => v },
  { name: "scrap_odometer_km", step: "1000", nullable: true, shown: (v) => v, api: (v) => v },
  { name: "nev_share_floor", step: "1", shown: (v) => Math.round(v * 1000) / 10, api: (v) => v / 100 },
  { name: "default_annual_budget_cny", step: "100000", nullable: true, shown: (v) => v, api: (v) => v },
  { name: "idle_annual_km", step: "500", shown: (v) => v, api: (v) => v },
  { name: "max_spend_swing_share", step: "5", nullable: true, shown: (v) => Math.round(v * 1000) / 10, api: (v) => v / 100 },
];
const FIELD_LABELS = Object.fromEntries(
  [...FIELDS.map((f) => f.name), "org_id", "years", "start_year"].map((name) => [name, `rp.field.${name}`]));

const state = {
  me: null,
  orgs: new Map(),
  policy: null, // GET /replacement/policies/{org}
  plans: [], // {n, orgId, request, plan, savedId, changed}
  shown: null, // index into plans
  compareA: null,
  compareB: null,
  saved: [],
  filings: [], // GET /replacement/filings of the organisation
  figures: null,
  computing: false,
};

const $ = (id) => document.getElementById(id);
const sep = () => (lang() === "zh" ? "；" : "; ");
/** Money in the page's unit: 万元 (10,000 CNY) in Chinese, million CNY in English. */
const moneyValue = (cny) => Number(cny || 0) / (lang() === "zh" ? 10000 : 1000000);
const money = (cny) => moneyValue(cny).toLocaleString(lang() === "zh" ? "zh-CN" : "en", { maximumFractionDigits: lang() === "zh" ? 1 : 2 });
const moneyAxis = (v) => (lang() === "zh" ? v.toFixed(0) : v.toFixed(1));
const km = (value) => formatMoney(value);
const pct = (share) => (share === null || share === undefined ? "–" : `${Math.round(share * 1000) / 10}%`);
const orgName = (id) => state.orgs.get(Number(id))?.name ?? `#${id}`;

// -- the form -------------------------------------------------------------------------------

function renderPolicy() {
  const info = state.policy;
  const fields = $("policy-fields");
  if (!info) {
    fields.innerHTML = "";
    return;
  }
  const before = Object.fromEntries([...fields.querySelectorAll("input")].map((i) => [i.name, i.value]));
  fields.innerHTML = FIELDS.map((f) => {
    const original = info.policy[f.name];
    const value = f.name in before ? before[f.name] : original === null ? "" : String(f.shown(original));
    return `<label data-field="${f.name}"><span>${esc(t(`rp.field.${f.name}`))}</span>
      <input name="${f.name}" type="number" min="0" step="${f.step}" value="${esc(value)}"
        data-original="${original === null ? "" : esc(String(f.shown(original)))}"
        ${f.nullable ? `placeholder="${esc(t("rp.form.empty_means"))}"` : ""}>
      <em class="changed-mark" hidden>${esc(t("rp.form.changed"))}</em></label>`;
  }).join("");
  for (const input of fields.querySelectorAll("input")) input.addEventListener("input", markChanged);
  markChanged();
  $("policy-note").textContent = info.source_org_id
    ? t("rp.form.policy_note", { source: orgName(info.source_org_id) }) : t("rp.form.policy_note_defaults");
  const budgets = info.policy.budgets || [];
  $("policy-budgets").textContent = budgets.length
    ? t("rp.budgets", { items: budgets.map((b) => t("rp.budget.item", { org: orgName(b.org_id), amount: money(b.annual_budget_cny) })).join(sep()) })
    : t("rp.budgets.none");
}

function markChanged() {
  for (const input of $("policy-fields").querySelectorAll("input")) {
    const changed = input.value.trim() !== input.dataset.original;
    input.closest("label").classList.toggle("changed", changed);
    input.closest("label").querySelector(".changed-mark").hidden = !changed;
  }
}

/** The settings the planner typed in that differ from the policy, in API units. */
function policyChanges() {
  const changes = {};
  for (const f of FIELDS) {
    const input = $("policy-fields").querySelector(`input[name="${f.name}"]`);
    if (!input || input.value.trim() === input.dataset.original) continue;
    const text = input.value.trim();
    changes[f.name] = text === "" ? null : f.api(Number(text));
  }
  return changes;
}

function describeChanges(changes) {
  const byName = Object.fromEntries(FIELDS.map((f) => [f.name, f]));
  return Object.entries(changes).map(([name, value]) => {
    const f = byName[name];
    const original = state.policy && f ? state.policy.policy[name] : undefined;
    const show = (v) => (v === null || v === undefined ? t("rp.none") : String(f ? f.shown(v) : v));
    return `${t(`rp.field.${name}`)} ${show(original)} → ${show(value)}`;
  }).join(sep());
}

// -- computing and saving -------------------------------------------------------------------

async function compute(event) {
  event.preventDefault();
  if (state.computing) return;
  const orgId = Number($("org").value);
  const request = {
    org_id: orgId,
    years: $("years").value === "" ? null : Number($("years").value),
    time_limit_s: TIME_LIMIT_S,
    policy_changes: policyChanges(),
  };
  if ($("start-year").value !== "") request.start_year = Number($("start-year").value);
  state.computing = true;
  const button = $("compute");
  const progress = $("compute-progress");
  button.disabled = true;
  progress.hidden = false;
  $("result").setAttribute("aria-busy", "true");
  const started = performance.now();
  const tick = () => {
    $("compute-elapsed").textContent = t("rp.form.computing", {
      seconds: Math.floor((performance.now() - started) / 1000), limit: TIME_LIMIT_S,
    });
  };
  tick();
  const timer = setInterval(tick, 250);
  try {
    const plan = await api("/replacement/plans/compute", { method: "POST", body: request });
    const changed = Object.keys(request.policy_changes).length > 0;
    state.plans.push({ n: state.plans.filter((p) => !p.savedOnly).length + 1, orgId, request, plan, savedId: null, changed });
    state.shown = state.plans.length - 1;
    state.compareB = state.plans.length - 1;
    state.compareA = state.plans.length > 1 ? state.plans.length - 2 : null;
    renderResult();
    renderCompare();
  } catch (error) {
    say(refusal(error), "error");
  } finally {
    clearInterval(timer);
    state.computing = false;
    button.disabled = false;
    progress.hidden = true;
    $("result").removeAttribute("aria-busy");
  }
}

/** A refused computation in words: an infeasible policy by its binding constraints. */
function refusal(error) {
  const detail = Array.isArray(error?.detail) ? error.detail : [];
  const binding = detail.filter((d) => d.type === "policy_infeasible");
  if (binding.length) {
    const items = binding.filter((d) => d.ctx && d.ctx.family)
      .map((d) => t("rp.bind.item", { family: label("rp.bind.", d.ctx.family), scope: scopeName(d.ctx.scope) }));
    return items.length ? t("rp.infeasible", { items: items.join(sep()) }) : t("rp.infeasible.none");
  }
  return explain(error, { fields: FIELD_LABELS });
}

/** A binding constraint's scope: an organisation id by its name, else as given (a year). */
function scopeName(scope) {
  return /^\d+$/.test(String(scope)) && state.orgs.has(Number(scope)) ? orgName(scope) : String(scope ?? "");
}

async function save() {
  const entry = state.plans[state.shown];
  if (!entry || entry.savedId) return;
  const kept = await attempt(() => api("/replacement/plans", { method: "POST", body: entry.request }), $("save-plan"));
  if (!kept) return;
  entry.savedId = kept.id;
  entry.plan = kept;
  say(t("rp.save.done", { id: kept.id }));
  renderResult();
  renderCompare();
  await Promise.all([loadSaved(entry.orgId), loadFigures(entry.orgId)]);
}

async function addSavedToComparison(id) {
  const existing = state.plans.findIndex((p) => p.savedId === id);
  let index = existing;
  if (existing < 0) {
    const plan = await attempt(() => api(`/replacement/plans/${id}`));
    if (!plan) return;
    state.plans.push({ savedOnly: true, orgId: plan.org_id, request: null, plan, savedId: id,
                       changed: Object.keys(plan.policy_changes || {}).length > 0 });
    index = state.plans.length - 1;
  }
  if (index !== state.compareB) {
    state.compareA = state.compareB ?? state.compareA;
    state.compareB = index;
  }
  renderCompare();
  $("compare").scrollIntoView({ behavior: "smooth", block: "start" });
}

// -- one plan -------------------------------------------------------------------------------

function planName(entry) {
  const name = entry.savedOnly ? t("rp.plan.saved_name", { id: entry.savedId }) : t("rp.plan.name", { n: entry.n });
  const kind = t(entry.changed ? "rp.plan.edited" : "rp.plan.current");
  return lang() === "zh" ? `${name}（${kind}）` : `${name} (${kind})`;
}

function reasonText(d) {
  const p = d.reason_params || {};
  const texts = {
    legacy_emission: () => t("rp.reason.legacy_emission", {
      standard: label("rp.es.", p.emission_standard), legacy: label("rp.es.", p.legacy_standard),
      deadline_year: p.deadline_year }),
    scrappage_mileage: () => t("rp.reason.scrappage_mileage", { odometer_km: km(p.odometer_km), scrap_odometer_km: km(p.scrap_odometer_km) }),
    idle_km: () => t("rp.reason.idle_km", { annual_km: km(p.annual_km), idle_annual_km: km(p.idle_annual_km),
                                             source: label("rp.source.", p.annual_km_source) }),
    idle_utilisation: () => t("rp.reason.idle_utilisation", { share: pct(p.utilisation_share), threshold: pct(p.idle_utilisation_share) }),
    eligible: () => t("rp.reason.eligible", { age_years: Number(p.age_years).toFixed(1), min_service_years: p.min_service_years,
                                               odometer_km: km(p.odometer_km), min_odometer_km: km(p.min_odometer_km) }),
  };
  if (!texts[d.reason_code]) return t("rp.reason.unrecorded");
  const parts = [texts[d.reason_code]()];
  if (d.annual_km_source === "unknown") parts.push(t("rp.reason.usage_unknown"));
  if (d.action === "right_size") parts.push(t("rp.reason.trips_elsewhere"));
  if (p.nev_required_use_type) parts.push(t("rp.reason.nev_required", { use_type: label("rp.use.", p.nev_required_use_type) }));
  const change = Number(p.lifecycle_change_cny ?? d.lifecycle_change_cny);
  parts.push(change < 0 ? t("rp.reason.saves", { amount: formatMoney(-change) }) : t("rp.reason.costs", { amount: formatMoney(change) }));
  return parts.join(sep());
}

function decisionText(d) {
  if (d.action === "right_size") return t("rp.decision.right_size");
  const name = label("vc.", d.replacement_class);
  // Inside an English sentence a class is lower case, but for its abbreviations (SUV, MPV).
  const vehicleClass = lang() === "en" && name !== name.toUpperCase() ? name.toLowerCase() : name;
  return t("rp.decision.replace", { energy: label("rp.energy.", d.replacement_energy), class: vehicleClass,
                                    price: formatMoney(d.purchase_cost_cny) });
}

function yearTable(year, open) {
  const summary = year.decisions.length
    ? t("rp.year.summary", { year: year.year, retired: year.decisions.length, bought: year.replaced, nev: pct(year.nev_share),
                             floor: pct(year.nev_share_floor), spend: money(year.spend_cny) })
    : t("rp.year.none", { year: year.year });
  const rows = year.decisions.map((d) => `<tr data-car="${esc(d.car_id)}" data-action="${esc(d.action)}">
      <td class="plate">${esc(d.car_id)}</td>
      <td>${esc(t("rp.car", { class: label("vc.", d.vehicle_class), energy: label("rp.energy.", d.energy),
                               age: Number(d.age_years).toFixed(1), km: km(d.odometer_km) }))}</td>
      <td>${esc(decisionText(d))}</td>
      <td class="reason">${esc(reasonText(d))}</td></tr>`).join("");
  const table = year.decisions.length ? `<div class="table-wrap"><table class="rp-table">
      <thead><tr><th>${esc(t("rp.col.plate"))}</th><th>${esc(t("rp.col.car"))}</th><th>${esc(t("rp.col.decision"))}</th><th>${esc(t("rp.col.reason"))}</th></tr></thead>
      <tbody>${rows}</tbody></table></div>` : "";
  return `<details class="year-plan" data-year="${year.year}"${open ? " open" : ""}><summary>${esc(summary)}</summary>${table}</details>`;
}

function planCharts(plan) {
  const years = plan.year_plans.map((y) => String(y.year));
  const retired = [
    { name: t("rp.legend.nev_bought"), colour: COLOURS.nev, values: plan.year_plans.map((y) => y.nev_bought) },
    { name: t("rp.legend.other_bought"), colour: COLOURS.other, values: plan.year_plans.map((y) => y.replaced - y.nev_bought) },
    { name: t("rp.legend.right_sized"), colour: COLOURS.rightSized, values: plan.year_plans.map((y) => y.right_sized) },
  ];
  const nev = [
    { name: t("rp.legend.nev"), colour: COLOURS.nev, values: plan.year_plans.map((y) => y.nev_share) },
    { name: t("rp.legend.floor"), colour: COLOURS.floor, dashed: true, values: plan.year_plans.map((y) => y.nev_share_floor) },
  ];
  return `<div class="rp-charts">
    <figure><figcaption>${esc(t("rp.chart.retired"))}</figcaption>${stackedBarChart(years, retired)}${legend(retired)}</figure>
    <figure><figcaption>${esc(t("rp.chart.spend"))}</figcaption>${barChart(plan.year_plans.map((y) => ({ label: String(y.year), value: moneyValue(y.spend_cny) })), { colour: COLOURS.spend, format: moneyAxis })}</figure>
    <figure><figcaption>${esc(t("rp.chart.nev"))}</figcaption>${multiLineChart(years, nev, { max: 1, format: pct })}${legend(nev)}</figure>
  </div>`;
}

function renderResult() {
  const body = $("result-body");
  const entry = state.plans[state.shown];
  if (!entry) {
    body.innerHTML = `<p class="empty-state">${esc(t("rp.result.empty"))}</p>`;
    return;
  }
  const plan = entry.plan;
  const years = plan.year_plans;
  const decisions = years.flatMap((y) => y.decisions);
  const usage = plan.usage_sources || {};
  const status = plan.status === "optimal" ? t("rp.result.status.optimal")
    : t("rp.result.status.feasible", { gap: `${(100 * (plan.stats.gap ?? 0)).toFixed(3)}%` });
  const changes = plan.policy_changes && Object.keys(plan.policy_changes).length
    ? t("rp.result.policy_changes", { changes: describeChanges(plan.policy_changes) }) : t("rp.result.no_changes");
  const saveButton = entry.savedId
    ? `<span class="saved-badge" id="saved-badge">${esc(t("rp.saved", { id: entry.savedId }))}</span>${filingPart(entry)}`
    : `<button type="button" id="save-plan" class="primary">${esc(t("rp.save"))}</button>`;
  body.innerHTML = `<div class="rp-result" data-plan="${state.shown}" data-status="${esc(plan.status)}">
    <p class="rp-headline"><strong>${esc(planName(entry))}</strong> ${esc(t("rp.result.summary", {
      name: orgName(plan.org_id), first: plan.start_year, last: plan.start_year + plan.years - 1, retired: decisions.length,
      bought: years.reduce((n, y) => n + y.replaced, 0), nev: years.reduce((n, y) => n + y.nev_bought, 0),
      spend: money(years.reduce((n, y) => n + y.spend_cny, 0)) }))}</p>
    <p class="note">${esc(status)} ${esc(changes)}</p>
    <p class="note" id="usage-note">${esc(t("rp.usage", { trips: usage.trips || 0, odometer: usage.odometer || 0, unknown: usage.unknown || 0 }))}${usage.unknown ? ` ${esc(t("rp.usage.unknown"))}` : ""}</p>
    <div class="rp-actions">${saveButton}</div>
    ${planCharts(plan)}
    ${years.map((y, i) => yearTable(y, i === 0)).join("")}
  </div>`;
  $("save-plan")?.addEventListener("click", save);
  $("file-plan")?.addEventListener("click", () => file(entry));
}

/** Filing states of a saved plan, and for the county's own planner the button to file its first year. */
function filingPart(entry) {
  const org = state.orgs.get(entry.plan.org_id);
  const filed = state.filings.some((f) => f.year === entry.plan.start_year && f.state !== "returned");
  const canFile = org && org.level === "county" && state.me.org_id === org.id && !filed;
  const button = canFile ? `<button type="button" id="file-plan">${esc(t("rp.filing.file", { year: entry.plan.start_year }))}</button>` : "";
  return filingBadges(entry.savedId) + button;
}

/** The filings of saved plan `planId` with their states. */
function filingBadges(planId) {
  return state.filings.filter((f) => f.plan_id === planId)
    .map((f) => `<span class="filing-state" data-state="${esc(f.state)}">${esc(t("rp.filing.state", { year: f.year, state: label("rp.fs.", f.state) }))}</span>`).join("");
}

async function file(entry) {
  const year = entry.plan.start_year;
  try {
    await api("/replacement/filings", { method: "POST", body: { plan_id: entry.savedId, year } });
    say(t("rp.filing.done", { year }));
  } catch (error) {
    say(explain(error, { byStatus: { 409: "rp.filing.conflict" } }), "error");
  }
  await loadSaved(entry.orgId);
  renderResult();
}

// -- comparing two plans --------------------------------------------------------------------

function planOptions(selected) {
  return state.plans.map((entry, i) => `<option value="${i}"${i === selected ? " selected" : ""}>${esc(planName(entry))}</option>`).join("");
}

function renderCompare() {
  const body = $("compare-body");
  if (state.plans.length < 2 || state.compareA === null || state.compareB === null) {
    body.innerHTML = `<p class="empty-state">${esc(t("rp.compare.empty"))}</p>`;
    return;
  }
  const a = state.plans[state.compareA].plan;
  const b = state.plans[state.compareB].plan;
  const years = [...new Set([...a.year_plans, ...b.year_plans].map((y) => y.year))].sort();
  const pick = (plan, year) => plan.year_plans.find((y) => y.year === year);
  const series = (fn) => [
    { name: t("rp.compare.a"), colour: COLOURS.a, values: years.map((y) => (pick(a, y) ? fn(pick(a, y)) : null)) },
    { name: t("rp.compare.b"), colour: COLOURS.b, values: years.map((y) => (pick(b, y) ? fn(pick(b, y)) : null)) },
  ];
  const cell = (plan, year, fn) => (pick(plan, year) ? esc(fn(pick(plan, year))) : "–");
  const rows = years.map((year) => `<tr data-year="${year}"><td>${year}</td>
      <td>${cell(a, year, (y) => y.decisions.length)}</td><td>${cell(b, year, (y) => y.decisions.length)}</td>
      <td>${cell(a, year, (y) => y.replaced)}</td><td>${cell(b, year, (y) => y.replaced)}</td>
      <td>${cell(a, year, (y) => money(y.spend_cny))}</td><td>${cell(b, year, (y) => money(y.spend_cny))}</td>
      <td>${cell(a, year, (y) => pct(y.nev_share))}</td><td>${cell(b, year, (y) => pct(y.nev_share))}</td></tr>`).join("");
  const total = (plan, fn) => plan.year_plans.reduce((n, y) => n + fn(y), 0);
  const labels = years.map(String);
  const first = years[0];
  const carsIn = (plan) => new Set((pick(plan, first)?.decisions || []).map((d) => d.car_id));
  const inA = carsIn(a);
  const inB = carsIn(b);
  const onlyA = [...inA].filter((c) => !inB.has(c));
  const onlyB = [...inB].filter((c) => !inA.has(c));
  const differences = !onlyA.length && !onlyB.length
    ? `<p class="note">${esc(t("rp.compare.first_year_same", { year: first }))}</p>`
    : [[onlyA, t("rp.compare.a")], [onlyB, t("rp.compare.b")]].filter(([cars]) => cars.length)
      .map(([cars, plan]) => `<p class="note">${esc(t("rp.compare.only", { plan, year: first, plates: cars.join(lang() === "zh" ? "、" : ", ") }))}</p>`).join("");
  const ab = (key) => `<th>${esc(t(key))} A</th><th>${esc(t(key))} B</th>`;
  body.innerHTML = `<div class="rp-compare-pick">
      <label>${swatch(COLOURS.a)}${esc(t("rp.compare.a"))} <select id="compare-a">${planOptions(state.compareA)}</select></label>
      <label>${swatch(COLOURS.b)}${esc(t("rp.compare.b"))} <select id="compare-b">${planOptions(state.compareB)}</select></label>
    </div>
    <div class="table-wrap"><table class="rp-table" id="compare-table">
      <thead><tr><th>${esc(t("rp.col.year"))}</th>${ab("rp.col.retired")}${ab("rp.col.bought")}${ab("rp.col.spend")}${ab("rp.col.nev")}</tr></thead>
      <tbody>${rows}</tbody>
      <tfoot><tr><td>${esc(t("rp.compare.total"))}</td>
        <td>${total(a, (y) => y.decisions.length)}</td><td>${total(b, (y) => y.decisions.length)}</td>
        <td>${total(a, (y) => y.replaced)}</td><td>${total(b, (y) => y.replaced)}</td>
        <td>${esc(money(total(a, (y) => y.spend_cny)))}</td><td>${esc(money(total(b, (y) => y.spend_cny)))}</td><td></td><td></td></tr></tfoot>
    </table></div>
    ${differences}
    <div class="rp-charts">
      <figure><figcaption>${esc(t("rp.compare.retired"))}</figcaption>${groupedBarChart(labels, series((y) => y.decisions.length))}${legend(series(() => 0))}</figure>
      <figure><figcaption>${esc(t("rp.compare.spend"))}</figcaption>${groupedBarChart(labels, series((y) => moneyValue(y.spend_cny)), { format: moneyAxis })}</figure>
      <figure><figcaption>${esc(t("rp.compare.nev"))}</figcaption>${multiLineChart(labels, series((y) => y.nev_share), { max: 1, format: pct })}</figure>
    </div>`;
  $("compare-a").addEventListener("change", (e) => { state.compareA = Number(e.target.value); renderCompare(); });
  $("compare-b").addEventListener("change", (e) => { state.compareB = Number(e.target.value); renderCompare(); });
}

// -- saved plans and the fleet's figures ----------------------------------------------------

function renderSaved() {
  const body = $("saved-body");
  if (!state.saved.length) {
    body.innerHTML = `<p class="empty-state">${esc(t("rp.saved.empty"))}</p>`;
    return;
  }
  body.innerHTML = `<ul class="rp-saved">${state.saved.map((p) => `<li data-plan-id="${p.id}">
      <span>${esc(t("rp.saved.row", { id: p.id, first: p.start_year, last: p.start_year + p.years - 1, retired: p.retired,
                                       spend: money(p.spend_cny), who: p.created_by, when: formatTime(p.created_at, true) }))}</span>
      ${filingBadges(p.id)}
      <button type="button" data-compare="${p.id}">${esc(t("rp.compare.add"))}</button></li>`).join("")}</ul>`;
  for (const button of body.querySelectorAll("button[data-compare]")) {
    button.addEventListener("click", () => addSavedToComparison(Number(button.dataset.compare)));
  }
}

function renderFigures() {
  const figures = state.figures;
  if (!figures) return;
  $("chart-age").innerHTML = figures.age_histogram.some((a) => a.count)
    ? `<p class="note">${esc(t("rp.fig.age_note"))}</p>${barChart(figures.age_histogram.map((a) => ({ label: `${a.age_years}`, value: a.count })), { colour: "#1e63c4" })}`
    : emptyChart(t("rp.fig.age_empty"));
  if (!figures.plan_id) {
    $("plan-note").textContent = "";
    $("chart-nev").innerHTML = emptyChart(t("rp.fig.plan_empty"));
    $("chart-spend").innerHTML = emptyChart(t("rp.fig.plan_empty"));
    return;
  }
  $("plan-note").textContent = t("rp.fig.from_plan", { id: figures.plan_id });
  const years = figures.years.map((y) => String(y.year));
  $("chart-nev").innerHTML = multiLineChart(years, [{ name: t("rp.legend.nev"), colour: COLOURS.nev, values: figures.years.map((y) => y.nev_share) }],
                                            { max: 1, format: pct });
  $("chart-spend").innerHTML = barChart(figures.years.map((y) => ({ label: String(y.year), value: moneyValue(y.spend_cny) })),
                                        { colour: COLOURS.spend, format: moneyAxis });
}

async function loadSaved(orgId) {
  const [plans, filings] = await Promise.all([
    attempt(() => api("/replacement/plans", { query: { org_id: orgId, limit: 20 } })),
    attempt(() => api("/replacement/filings", { query: { org_id: orgId, limit: 100 } })),
  ]);
  state.saved = plans ? plans.items : [];
  state.filings = filings ? filings.items : [];
  renderSaved();
}

async function loadFigures(orgId) {
  try {
    state.figures = await api("/replacement/figures", { query: { org_id: orgId } });
    renderFigures();
  } catch (error) {
    say(t("replacement.unavailable", { detail: explain(error) }), "error");
  }
}

async function loadOrg(orgId) {
  state.policy = await attempt(() => api(`/replacement/policies/${orgId}`));
  $("policy-fields").innerHTML = "";
  renderPolicy();
  await Promise.all([loadSaved(orgId), loadFigures(orgId)]);
}

function renderAll() {
  renderPolicy();
  renderResult();
  renderCompare();
  renderSaved();
  renderFigures();
}

onLangChange(renderAll);

async function main() {
  const me = await attempt(() => startPage());
  if (!me) return;
  state.me = me;
  const orgs = (await attempt(() => apiAll("/organisations"))) || [];
  for (const org of orgs) state.orgs.set(org.id, org);
  const select = $("org");
  select.innerHTML = orgs.filter((o) => o.level !== "agency")
    .map((o) => `<option value="${o.id}"${o.id === me.org_id ? " selected" : ""}>${esc(o.name)}</option>`).join("");
  $("start-year").value = String(new Date().getFullYear() + 1);
  select.addEventListener("change", () => loadOrg(Number(select.value)));
  $("compute-form").addEventListener("submit", compute);
  $("policy-reset").addEventListener("click", () => {
    $("policy-fields").innerHTML = "";
    renderPolicy();
  });
  await loadOrg(Number(select.value || me.org_id));
  renderResult();
  renderCompare();
  document.body.dataset.ready = "true";
}

main();
