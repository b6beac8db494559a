// The inspectors' page: build and download evidence exports and see each earlier one checked
// (POST/GET /exports, GET /exports/{id}/verification), read the audit log with the chain's
// status (GET /audit/entries, /audit/verification), every alert with its disposition and
// review steps (GET /alerts, /alerts/{id}/reviews), and check an uploaded bundle file by file
// (POST /exports/verification). Nothing here changes a record.

import "./labels_audit.js";
import { api, apiAll, describeDetail } from "./api.js";
import { applyLabels, lang, onLangChange, t } from "./i18n.js";
import { TIME_ZONE, attempt, dayRange, esc, say, startPage, todayInZone } from "./ui.js";

const PAGE_SIZE = { exports: 10, log: 20, alerts: 20 };
const ALERT_KINDS = ["private_use.no_order", "private_use.off_hours", "private_use.out_of_area",
  "private_use.route_deviation", "parking.off_site_overnight", "parking.forbidden_zone", "device.offline",
  "speeding", "expense.mismatch"];
const DISPOSITIONS = ["open", "under_review", "confirmed", "justified", "false_positive"];
const OBJECT_TYPES = ["alert", "export", "expense_import", "trip_request", "assignment", "dispatch_plan", "vehicle",
  "driver", "user", "organisation", "depot", "parking_site", "zone", "speed_zone", "lessor", "replacement_plan",
  "replacement_policy", "replacement_filing", "maintenance_cost", "fleet_document", "login_throttle", "place",
  "hire_window", "orders_document"];
const ACTIONS = ["export.create", "alert.review", "alert.review.under_review", "alert.review.confirmed",
  "alert.review.justified", "alert.review.false_positive", "expense.import", "trip_request.approved",
  "trip_request.rejected", "trip_request.cancelled", "assignment.override", "dispatch_plan.accept",
  "vehicle.odometer_correction", "replacement_filing.approve", "login.lockout", "import"];

let me = null;
const offsets = { exports: 0, log: 0, alerts: 0 };
const shown = { exports: null, log: null, alerts: null, verify: null };
const plates = new Map(); // vehicle id -> plate
let organisations = [];
let chain = null;

const stampFormatter = new Intl.DateTimeFormat("en-CA", {
  timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  second: "2-digit", hourCycle: "h23",
});

/** "YYYY-MM-DD HH:MM:SS" (or the date alone) in the display time zone. */
function stamp(iso, dateOnly = false) {
  if (!iso) return "–";
  const p = Object.fromEntries(stampFormatter.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  const day = `${p.year}-${p.month}-${p.day}`;
  return dateOnly ? day : `${day} ${p.hour}:${p.minute}:${p.second}`;
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The label of ``key``, or ``fallback`` where the catalogue has none (never a raw value). */
function named(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

const objectName = (type) => named(`ot.${type}`, t("ot.other"));
const kindName = (kind) => named(`ak.${kind}`, t("audit.kind.other"));
const stateName = (state) => named(`as.${state}`, t("ot.other"));

function actionName(action, objectType) {
  const verb = action.includes(".") ? action.slice(action.indexOf(".") + 1) : "";
  return named(`aa.${action}`, ["create", "update"].includes(verb)
    ? t(`aa.${verb}`, { object: objectName(objectType) })
    : t("audit.action.other", { object: objectName(objectType) }));
}

const actorName = (actor) => named(`actor.${actor}`, actor);

function options(select, values, text, anyKey = "audit.filter.any") {
  const current = select.value;
  select.innerHTML = `<option value="">${esc(t(anyKey))}</option>`
    + values.map((v) => `<option value="${esc(v)}">${esc(text(v))}</option>`).join("");
  select.value = current;
}

/** Since (inclusive) and until (exclusive) of the local dates ``from`` and ``to`` (inclusive). */
function dateBounds(from, to) {
  return { since: from ? dayRange(from)[0] : undefined, until: to ? dayRange(to)[1] : undefined };
}

function pager(id, tab, page, reload) {
  const el = document.getElementById(id);
  const last = Math.min(page.offset + page.items.length, page.total);
  const range = page.total ? t("audit.page.range", { from: page.offset + 1, to: last, total: page.total })
    : t("audit.page.none");
  el.innerHTML = `<button type="button" data-go="-1" ${page.offset > 0 ? "" : "disabled"}>${esc(t("audit.page.prev"))}</button>
    <span class="note">${esc(range)}</span>
    <button type="button" data-go="1" ${last < page.total ? "" : "disabled"}>${esc(t("audit.page.next"))}</button>`;
  el.onclick = (event) => {
    const button = event.target.closest("[data-go]");
    if (!button) return;
    offsets[tab] = Math.max(0, offsets[tab] + Number(button.dataset.go) * PAGE_SIZE[tab]);
    reload();
  };
}

/** Fill table ``id`` with the columns ``head`` (audit.col.* labels) and ``rows``, or the
 * ``emptyKey`` label when there are none; page it with ``tab``'s pager. */
function fillTable(id, head, rows, emptyKey, tab, page, reload) {
  document.getElementById(id).innerHTML = `<thead><tr>${head.map((h) => `<th>${esc(t(`audit.col.${h}`))}</th>`).join("")}</tr></thead>
    <tbody>${rows.join("") || `<tr><td colspan="${head.length}" class="note">${esc(t(emptyKey))}</td></tr>`}</tbody>`;
  pager(`${id.split("-")[0]}-pager`, tab, page, reload);
}

async function vehicleIdOf(plate) {
  const found = await api("/vehicles", { query: { plate, limit: 1 } });
  if (!found.items.length) throw new Error(t("audit.export.unknownPlate", { plate }));
  plates.set(found.items[0].id, found.items[0].plate);
  return found.items[0].id;
}

async function plateOf(id) {
  if (!plates.has(id)) {
    try {
      plates.set(id, (await api(`/vehicles/${id}`)).plate);
    } catch {
      plates.set(id, `#${id}`);
    }
  }
  return plates.get(id);
}

// ------------------------------------------------------------------ exports

function scopeText(filters) {
  if (filters.plate) return filters.plate;
  return filters.org_name ? filters.org_name : t("audit.scope.whole");
}

function checkBadge(result) {
  if (!result) return `<span class="badge">${esc(t("audit.check.pending"))}</span>`;
  if (result.failed) return `<span class="badge warning">${esc(t("audit.check.failed"))}</span>`;
  return result.ok ? `<span class="badge ok">${esc(t("audit.check.ok"))}</span>`
    : `<span class="badge critical" title="${esc(result.problems.join("\n"))}">${esc(t("audit.check.bad"))}</span>`;
}

function renderExports() {
  const page = shown.exports;
  if (!page) return;
  const head = ["id", "time", "by", "scope", "range", "formats", "files", "size", "manifest", "check", "action"];
  const rows = page.items.map((e) => {
    const until = new Date(new Date(e.filters.until).getTime() - 1000).toISOString();
    const check = e.check ? (e.check.failed ? "failed" : e.check.ok ? "ok" : "bad") : "pending";
    return `<tr data-export-id="${e.id}" data-check="${check}">
      <td>#${e.id}</td><td>${esc(stamp(e.created_at))}</td><td>${esc(e.created_by)}</td>
      <td>${esc(scopeText(e.filters))}</td><td>${esc(stamp(e.filters.since, true))} – ${esc(stamp(until, true))}</td>
      <td>${e.formats.map((f) => esc(named(`fmt.${f}`, f.toUpperCase()))).join(lang() === "zh" ? "、" : ", ")}</td>
      <td>${e.file_count}</td><td>${esc(bytes(e.size_bytes))}</td>
      <td><code title="${esc(e.manifest_sha256)}">${esc(e.manifest_sha256.slice(0, 12))}…</code></td>
      <td class="check">${checkBadge(e.check)}</td>
      <td><a href="/api/v1/exports/${e.id}/bundle" download>${esc(t("audit.download"))}</a></td></tr>`;
  });
  fillTable("export-list", head, rows, "audit.exports.empty", "exports", page, loadExports);
}

async function loadExports() {
  document.getElementById("export-list").dataset.loaded = "false";
  const page = await attempt(() => api("/exports", { query: { limit: PAGE_SIZE.exports, offset: offsets.exports } }));
  if (!page) return;
  shown.exports = page;
  renderExports();
  await Promise.all(page.items.map(async (e) => {
    try {
      e.check = await api(`/exports/${e.id}/verification`);
    } catch (error) {
      e.check = { failed: true, problems: [error.message] };
    }
    renderExports();
  }));
  document.getElementById("export-list").dataset.loaded = "true";
}

function filenameOf(response, fallback) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(response.headers.get("content-disposition") || "");
  return match ? decodeURIComponent(match[1]) : fallback;
}

async function buildExport(event) {
  event.preventDefault();
  const from = document.getElementById("export-from").value;
  const to = document.getElementById("export-to").value;
  const formats = [...document.querySelectorAll("input[name=format]:checked")].map((box) => box.value);
  if (!from || !to) return say(t("audit.export.noDates"), "error");
  if (to < from) return say(t("audit.export.badRange"), "error");
  if (!formats.length) return say(t("audit.export.noFormat"), "error");
  const button = document.getElementById("export-build");
  await attempt(async () => {
    const plate = document.getElementById("export-plate").value.trim();
    const orgId = document.getElementById("export-org").value;
    const body = { ...dateBounds(from, to), formats };
    if (orgId) body.org_id = Number(orgId);
    if (plate) body.vehicle_id = await vehicleIdOf(plate);
    say(t("audit.export.building"));
    const response = await fetch("/api/v1/exports", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      throw new Error(answer.detail !== undefined ? describeDetail(answer.detail) : `${response.status}`);
    }
    const blob = await response.blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filenameOf(response, "export.zip");
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    say(t("audit.export.done", { id: response.headers.get("x-export-id"),
      hash: (response.headers.get("x-manifest-sha256") || "").slice(0, 12) }), "ok");
    offsets.exports = 0;
    await loadExports();
  }, button);
}

function renderOrganisations() {
  const depth = (o) => o.path.split("/").filter(Boolean).length;
  const top = Math.min(...organisations.map(depth));
  options(document.getElementById("export-org"), organisations.map((o) => String(o.id)), (id) => {
    const o = organisations.find((x) => String(x.id) === id);
    return `${"\u3000".repeat(depth(o) - top)}${o.name}（${o.code}）`;
  }, "audit.org.mine");
}

// ------------------------------------------------------------------ audit log

function renderChain() {
  const el = document.getElementById("chain-status");
  if (!chain) {
    el.className = "chain-status";
    el.textContent = t("audit.chain.checking");
    return;
  }
  if (chain.failed) {
    el.className = "chain-status bad";
    el.textContent = t("audit.chain.unavailable", { detail: chain.detail });
    return;
  }
  el.dataset.ok = String(chain.ok);
  el.className = `chain-status ${chain.ok ? "ok" : "bad"}`;
  const parts = [];
  if (chain.first_broken_entry_id !== null) {
    parts.push(t("audit.chain.broken", { id: chain.first_broken_entry_id, reason: chain.reason }));
  } else {
    parts.push(t("audit.chain.ok", { n: chain.entries_checked, last: chain.last_entry_id, hash: chain.last_hash.slice(0, 16) }));
    if (chain.checkpoint_entries) parts.push(t("audit.chain.checkpoint", { n: chain.checkpoint_entries }));
  }
  if (chain.disagreements.length) parts.push(t("audit.chain.disagree", { n: chain.disagreements.length }));
  el.textContent = parts.join(" ");
}

async function loadChain() {
  try {
    chain = await api("/audit/verification");
  } catch (error) {
    chain = { failed: true, detail: error.message };
  }
  renderChain();
}

function change(entry) {
  const part = (key, value) => value ? `<div><b>${esc(t(key))}</b><pre>${esc(JSON.stringify(value, null, 1))}</pre></div>` : "";
  if (!entry.before && !entry.after) return "";
  return `<details><summary>${esc(t("audit.log.change"))}</summary>${part("audit.log.before", entry.before)}${part("audit.log.after", entry.after)}</details>`;
}

function renderLog() {
  const page = shown.log;
  if (!page) return;
  const head = ["id", "time", "by", "action", "object", "hash"];
  const rows = page.items.map((e) => `<tr data-entry-id="${e.id}" data-action="${esc(e.action)}">
      <td>#${e.id}</td><td>${esc(stamp(e.at))}</td><td>${esc(actorName(e.actor))}</td>
      <td>${esc(actionName(e.action, e.object_type))}${change(e)}</td>
      <td>${esc(objectName(e.object_type))} ${esc(e.object_id)}</td>
      <td><code title="${esc(e.hash)}">${esc(e.hash.slice(0, 12))}…</code></td></tr>`);
  fillTable("log-list", head, rows, "audit.log.empty", "log", page, loadLog);
}

async function loadLog() {
  document.getElementById("log-list").dataset.loaded = "false";
  const value = (id) => document.getElementById(id).value.trim();
  const query = {
    actor: value("log-actor"), action: value("log-action"), object_type: value("log-object-type"),
    object_id: value("log-object-id"), ...dateBounds(value("log-from"), value("log-to")),
    limit: PAGE_SIZE.log, offset: offsets.log,
  };
  const page = await attempt(() => api("/audit/entries", { query }));
  if (!page) return;
  shown.log = page;
  renderLog();
  document.getElementById("log-list").dataset.loaded = "true";
}

// ------------------------------------------------------------------ alert history

function steps(alert) {
  if (!alert.steps) return `<span class="note">${esc(t("audit.check.pending"))}</span>`;
  if (!alert.steps.length) return `<span class="note">${esc(t("audit.alerts.noSteps"))}</span>`;
  return `<ol class="steps">${alert.steps.map((s) => `<li>${esc(t("audit.alerts.step", {
    from: stateName(s.from_state), to: stateName(s.to_state), actor: actorName(s.actor), time: stamp(s.at) }))}${
    s.reason ? `<div class="sub">${esc(t("audit.alerts.reason", { reason: s.reason }))}</div>` : ""}</li>`).join("")}</ol>`;
}

function renderAlerts() {
  const page = shown.alerts;
  if (!page) return;
  const head = ["id", "time", "plate", "kind", "severity", "disposition", "steps"];
  const rows = page.items.map((a) => `<tr data-alert-id="${a.id}" data-state="${esc(a.state)}">
      <td>#${a.id}</td><td>${esc(stamp(a.started_at))}</td><td>${esc(plates.get(a.vehicle_id) || "…")}</td>
      <td>${(a.incident_kinds?.length ? a.incident_kinds : [a.kind]).map((k) => esc(kindName(k))).join("<br>")}</td><td><span class="badge ${esc(a.severity)}">${esc(named(`sev.${a.severity}`, ""))}</span></td>
      <td><span class="badge disposition ${esc(a.state)}">${esc(stateName(a.state))}</span></td><td>${steps(a)}</td></tr>`);
  fillTable("alert-list", head, rows, "audit.alerts.empty", "alerts", page, loadAlerts);
}

async function loadAlerts() {
  document.getElementById("alert-list").dataset.loaded = "false";
  const value = (id) => document.getElementById(id).value.trim();
  const page = await attempt(async () => {
    const plate = value("alert-plate");
    const query = { incident: true, kind: value("alert-kind"), state: value("alert-state"),
      ...dateBounds(value("alert-from"), value("alert-to")),
      vehicle_id: plate ? await vehicleIdOf(plate) : undefined, limit: PAGE_SIZE.alerts, offset: offsets.alerts };
    return api("/alerts", { query });
  });
  if (!page) return;
  shown.alerts = page;
  renderAlerts();
  await Promise.all(page.items.map(async (a) => {
    await plateOf(a.vehicle_id);
    try {
      a.steps = await api(`/alerts/${a.id}/reviews`);
    } catch {
      a.steps = [];
    }
  }));
  renderAlerts();
  document.getElementById("alert-list").dataset.loaded = "true";
}

// ------------------------------------------------------------------ verify a bundle

function renderVerify() {
  const el = document.getElementById("verify-result");
  const result = shown.verify;
  if (!result) {
    el.innerHTML = "";
    return;
  }
  const bad = result.files.filter((f) => f.status !== "ok").length;
  const verdict = result.ok ? t("audit.verify.ok", { name: result.name, id: result.export_id, n: result.files.length })
    : bad ? t("audit.verify.bad", { name: result.name, n: bad }) : t("audit.verify.filesOk", { name: result.name });
  const rows = result.files.map((f) => `<tr data-file="${esc(f.name)}" data-status="${esc(f.status)}">
      <td>${esc(f.name)}</td><td><span class="badge ${f.status === "ok" ? "ok" : "critical"}">${esc(named(`fs.${f.status}`, ""))}</span></td>
      <td><code>${f.sha256 ? esc(f.sha256.slice(0, 16)) + "…" : "–"}</code></td><td>${f.bytes ?? "–"}</td></tr>`);
  el.innerHTML = `<p class="verdict ${result.ok ? "ok" : "bad"}" data-ok="${result.ok}">${esc(verdict)}</p>
    <div class="table-wrap"><table class="audit-table"><thead><tr>${["file", "status", "sha", "bytes"]
      .map((h) => `<th>${esc(t(`audit.col.${h}`))}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table></div>
    ${result.problems.length ? `<details><summary>${esc(t("audit.verify.details"))}</summary><ul>${
      result.problems.map((p) => `<li>${esc(p)}</li>`).join("")}</ul></details>` : ""}`;
}

/** ``name`` as the server takes it for its messages: letters, digits and `_-. ()`, at most 80. */
function safeName(name) {
  const kept = name.replace(/[^\p{L}\p{N}_\-. ()]/gu, "_");
  return (/^[\p{L}\p{N}_]/u.test(kept) ? kept : `_${kept}`).slice(0, 80);
}

async function verifyUpload(event) {
  event.preventDefault();
  const file = document.getElementById("verify-file").files[0];
  if (!file) return say(t("audit.verify.noFile"), "error");
  await attempt(async () => {
    say(t("audit.verify.running"));
    const response = await fetch(`/api/v1/exports/verification?filename=${encodeURIComponent(safeName(file.name))}`, {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/zip" }, body: file,
    });
    if (response.status === 413) throw new Error(t("audit.verify.tooLarge"));
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.detail !== undefined ? describeDetail(answer.detail) : `${response.status}`);
    shown.verify = { ...answer, name: file.name };
    renderVerify();
    say(t(answer.ok ? "audit.check.ok" : "audit.check.bad"), answer.ok ? "ok" : "error");
  }, document.getElementById("verify-submit"));
}

// ------------------------------------------------------------------ page

const loaders = { exports: loadExports, log: () => Promise.all([loadChain(), loadLog()]), alerts: loadAlerts, verify: async () => {} };
const loaded = new Set();

async function showTab(name) {
  for (const button of document.querySelectorAll(".audit-tabs [data-tab]")) {
    button.classList.toggle("active", button.dataset.tab === name);
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  for (const panel of document.querySelectorAll(".audit-tab")) panel.hidden = panel.id !== `tab-${name}`;
  if (history.replaceState) history.replaceState(null, "", `#${name}`);
  if (!loaded.has(name)) {
    loaded.add(name);
    await loaders[name]();
  }
}

function renderAll() {
  applyLabels();
  document.getElementById("message").hidden = true; // said in the other language
  options(document.getElementById("log-action"), ACTIONS, (a) => actionName(a, a.split(".")[0]));
  options(document.getElementById("log-object-type"), OBJECT_TYPES, objectName);
  options(document.getElementById("alert-kind"), ALERT_KINDS, kindName);
  options(document.getElementById("alert-state"), DISPOSITIONS, stateName);
  if (organisations.length) renderOrganisations();
  renderChain();
  renderExports();
  renderLog();
  renderAlerts();
  renderVerify();
}

function wire() {
  document.querySelector(".audit-tabs").addEventListener("click", (event) => {
    const button = event.target.closest("[data-tab]");
    if (button && !button.disabled) showTab(button.dataset.tab);
  });
  document.getElementById("export-form").addEventListener("submit", buildExport);
  document.getElementById("verify-form").addEventListener("submit", verifyUpload);
  for (const [form, tab, load] of [["log-form", "log", loadLog], ["alert-form", "alerts", loadAlerts]]) {
    const el = document.getElementById(form);
    el.addEventListener("submit", (event) => {
      event.preventDefault();
      offsets[tab] = 0;
      load();
    });
    el.addEventListener("reset", () => setTimeout(() => {
      offsets[tab] = 0;
      load();
    }));
  }
  onLangChange(renderAll);
}

async function main() {
  wire();
  me = await attempt(() => startPage());
  if (!me) return;
  const inspector = me.role === "auditor";
  const exportsTab = document.querySelector("[data-tab=exports]");
  if (inspector) {
    const today = todayInZone();
    document.getElementById("export-from").value = today;
    document.getElementById("export-to").value = today;
    organisations = (await attempt(() => apiAll("/organisations"))) || [];
  } else {
    exportsTab.disabled = true;
    document.getElementById("exports-refused").hidden = false;
    document.getElementById("export-form").hidden = true;
  }
  renderAll();
  const wanted = location.hash.slice(1);
  const first = loaders[wanted] && (inspector || wanted !== "exports") ? wanted : inspector ? "exports" : "log";
  await showTab(first);
  document.body.dataset.ready = "true";
}

main();
