// The dispatcher console: live map, the list of cars (search, filters, live states), car
// card with the track history and replay of any day, request queue, plan the day, alerts
// with their evidence (also in the replay player) and disposition, and today's fleet figures.

import { api, apiAll } from "./api.js";
import { CarList } from "./car_list.js";
import { label, lang, onLangChange, t } from "./i18n.js";
import "./labels_console.js";
import "./labels_dispatch.js";
import { LiveFeed } from "./live.js";
import { addPlaceLayers, createMap, layerControl } from "./map.js";
import { explain } from "./refusals.js";
import { Replay } from "./replay.js";
import { attempt, dayRange, esc, formatMoney, formatPercent, formatTime, say, startPage, todayInZone } from "./ui.js";
import { VehicleLayer, carState } from "./vehicle_layer.js";

const L = window.L;
const state = {
  me: null,
  alerts: new Map(),
  plan: null,
  drivers: new Map(),
  lessors: new Map(),
  poolCars: null, // the override picker's cars, loaded when a dispatcher first opens it
  override: null, // the open override form: {id, vehicle, driver, reason, forceReason, refused}
  today: todayInZone(),
  places: [], // named places a stop may be at: [{name, lat, lon}] of the depots and parking sites
};

/** Whether the logged-in user may change things here (plan, override, review, cancel). */
function canWrite() {
  return Boolean(state.me && ["admin", "dispatcher"].includes(state.me.role));
}

const map = createMap("map");
const highlight = L.featureGroup().addTo(map);
const cars = new VehicleLayer({ onSelect: (car) => openCar(car.vehicle_id), onDraw: showCounts }).addTo(map);
const carList = new CarList({ layer: cars, driverOf: driverToday, onPick: pickCar });
const replay = new Replay({ map, places: () => state.places });
window.fleetConsole = { map, cars, carList, state, renderPlan, replay };

function showCounts(byState) {
  for (const [key, n] of Object.entries(byState)) document.getElementById(`n-${key}`).textContent = n;
}

// -- map ---------------------------------------------------------------------------------

async function loadMap() {
  const [places, layer] = await Promise.all([attempt(() => addPlaceLayers(map)), attempt(() => api("/map/vehicles"))]);
  if (layer) cars.load(layer.features);
  if (places) {
    layerControl(map, { ...places.layers, cars });
    state.places = namedPlaces(places.layers);
  }
  const located = layer ? layer.features.filter((f) => f.geometry) : [];
  if (located.length) {
    map.fitBounds(L.latLngBounds(located.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]])).pad(0.1), { maxZoom: 14 });
  } else if (places && places.bounds.isValid()) {
    map.fitBounds(places.bounds.pad(0.1), { maxZoom: 14 });
  }
  document.body.dataset.mapReady = "true";
}

/** The depots and parking sites as [{name, lat, lon}] (a site at the centre of its outline). */
function namedPlaces(layers) {
  const named = [];
  for (const group of [layers.depots, layers.sites]) {
    group.eachLayer((layer) => {
      const name = layer.feature?.properties?.name;
      const at = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
      if (name) named.push({ name, lat: at.lat, lon: at.lng });
    });
  }
  return named;
}

/** Draw a track; the map fits it unless `fit` is false (a car picked from the list stays centred). */
function drawTrack(points, colour, fit = true) {
  highlight.clearLayers();
  if (!points.length) return false;
  const latlngs = points.map((p) => [p.lat, p.lon]);
  L.polyline(latlngs, { color: colour, weight: 4, opacity: 0.85 }).addTo(highlight);
  L.circleMarker(latlngs[0], { radius: 5, color: colour, fillColor: "#fff", fillOpacity: 1 }).addTo(highlight);
  L.circleMarker(latlngs[latlngs.length - 1], { radius: 5, color: colour, fillColor: colour, fillOpacity: 1 }).addTo(highlight);
  if (fit) map.fitBounds(highlight.getBounds().pad(0.2), { maxZoom: 16 });
  return true;
}

/** Zoom at which a car picked from the list is shown: its plate and its neighbours' readable. */
const PICK_ZOOM = 16;

/** A car picked in the list: the map centres on it (when it has a position), it is
 * selected, and its card opens. */
function pickCar(vehicleId) {
  const car = cars.cars.get(vehicleId);
  if (car && car.lat !== null && car.lat !== undefined) {
    map.setView([car.lat, car.lon], Math.max(map.getZoom(), PICK_ZOOM), { animate: false });
  } else {
    say(t("cars.noFix", { plate: plateOf(vehicleId) }), "info");
  }
  openCar(vehicleId, { fit: false });
}

/** The name of the driver of a car's trip under way or next in today's plan ("" if none). */
function driverToday(vehicleId) {
  if (!state.plan) return "";
  const now = Date.now();
  const mine = state.plan.assignments.filter((a) => a.vehicle_id === vehicleId && a.driver_id != null)
    .sort((a, b) => Date.parse(a.planned_pickup) - Date.parse(b.planned_pickup));
  const current = mine.find((a) => Date.parse(a.planned_dropoff) >= now) || mine[mine.length - 1];
  return current ? state.drivers.get(current.driver_id)?.name || "" : "";
}

// -- drawer (car card, alert detail) ------------------------------------------------------

const drawer = document.getElementById("drawer");
const drawerBody = document.getElementById("drawer-body");
document.getElementById("drawer-close").addEventListener("click", closeDrawer);

function openDrawer(html, kind) {
  if (kind !== "replay") replay.close();
  drawerBody.innerHTML = html;
  drawer.dataset.kind = kind;
  drawer.hidden = false;
}

function closeDrawer() {
  drawer.hidden = true;
  replay.close();
  highlight.clearLayers();
  cars.select(null);
  carList.select(null);
}

async function openCar(vehicleId, { fit = true } = {}) {
  cars.select(vehicleId);
  carList.select(vehicleId);
  const card = await attempt(() => api(`/map/vehicles/${vehicleId}`));
  if (!card) return;
  const v = card.vehicle;
  const car = cars.cars.get(vehicleId) || {};
  const current = card.current;
  const rows = card.today.map((a) => `<li>${formatTime(a.planned_pickup)} ${esc(a.purpose)} · ${esc(a.driver_name || "–")}
      <span class="badge">${esc(label("rs.", a.request_state))}</span>
      <a href="/slip/${a.assignment_id}" target="_blank" rel="noopener" data-slip="${a.assignment_id}">${t("card.slip")}</a></li>`).join("");
  openDrawer(`
    <h2 data-i18n="card.title">${t("card.title")}</h2>
    <p class="plate">${esc(v.plate)} <span class="badge ${carState(car)}">${t(`state.${carState(car)}`)}</span></p>
    <p>${esc(label("vc.", v.vehicle_class))} · ${v.seats} · ${esc(label("cars.energy.", v.energy))} ·
       ${t(v.ownership === "leased" ? "own.leased" : "own.pool")}${card.lessor_name ? " · " + esc(card.lessor_name) : ""}</p>
    <p>${t("card.lastSeen")}: ${card.last_position ? formatTime(card.last_position.ts, true) + ` · ${card.last_position.speed_kmh.toFixed(0)} km/h` : "–"}</p>
    <h3>${t("card.current")}</h3>
    ${current ? `<p class="current">${formatTime(current.planned_pickup)}–${formatTime(current.planned_dropoff)} ${esc(current.purpose)}<br>
       ${t("card.driver")}: <b>${esc(current.driver_name || "–")}</b> ${esc(current.driver_phone || "")}<br>
       ${esc(current.origin_address)} → ${esc(current.destination_address)}</p>` : `<p class="note">${t("card.none")}</p>`}
    <ul class="list compact">${rows}</ul>
    <h3>${t("card.track")}</h3><p id="track-note" class="note">…</p>
    <button type="button" id="card-replay">${t("replay.open")}</button>`, "car");
  document.getElementById("card-replay").addEventListener("click", () => openReplay({ vehicleId, plate: v.plate }));
  const [since] = dayRange(state.today);
  const points = await attempt(() => apiAll("/positions", { vehicle_id: vehicleId, since }, 5000));
  const note = document.getElementById("track-note");
  if (points && note) note.textContent = drawTrack(points, "#6a1b9a", fit) ? `${points.length} GPS` : t("card.noTrack");
}

/** The replay panel in the drawer for a car (a day, or an alert's span); the car stays selected. */
function openReplay(options) {
  highlight.clearLayers();
  openDrawer("", "replay");
  cars.select(options.vehicleId);
  carList.select(options.vehicleId);
  return replay.open(drawerBody, options);
}

// -- alerts -------------------------------------------------------------------------------

function plateOf(vehicleId) {
  const car = cars.cars.get(vehicleId);
  return car && car.plate ? car.plate : `#${vehicleId}`;
}

/** The open alerts as incidents (the alerts of one drive or stop, named by the lowest id):
 * one row each, with every kind it broke; a review step on it moves the whole incident. */
function openIncidents() {
  const incidents = new Map();
  for (const a of state.alerts.values()) {
    if (a.state !== "open" && a.state !== "under_review") continue;
    const key = a.incident_id || a.id;
    const known = incidents.get(key);
    const kinds = new Set([...(known ? known.kinds : []), ...(a.incident_kinds?.length ? a.incident_kinds : [a.kind])]);
    const head = known && known.id < a.id ? known : a;
    incidents.set(key, { ...head, kinds, _fresh: Boolean(a._fresh || known?._fresh) });
  }
  return [...incidents.values()].sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at));
}

function renderAlerts() {
  const list = document.getElementById("alert-list");
  const open = openIncidents();
  document.getElementById("alert-count").textContent = open.length;
  list.innerHTML = open.length ? open.map((a) => `
    <li class="alert-item ${esc(a.severity)}${a._fresh ? " fresh" : ""}" data-alert-id="${a.id}" tabindex="0">
      <b>${[...a.kinds].sort().map((k) => esc(label("ak.", k))).join(" · ")}</b> ${esc(plateOf(a.vehicle_id))}
      <span class="time">${formatTime(a.started_at, true)}</span>
      <span class="badge">${esc(label("as.", a.state))}</span>
    </li>`).join("") : `<li class="note">${t("alerts.empty")}</li>`;
}

async function loadAlerts() {
  for (const s of ["open", "under_review"]) {
    const page = await attempt(() => api("/alerts", { query: { state: s, limit: 200 } }));
    if (page) for (const a of page.items) state.alerts.set(a.id, a);
  }
  renderAlerts();
}

function alertArrived(message) {
  const alert = { ...message.alert, _fresh: true };
  const known = state.alerts.has(alert.id);
  state.alerts.set(alert.id, alert);
  renderAlerts();
  if (!known) say(t("alerts.new", { kind: label("ak.", alert.kind), plate: plateOf(alert.vehicle_id) }), "warn");
  if (drawer.dataset.kind === "alert" && drawer.dataset.alertId === String(alert.id) && !drawer.hidden) openAlert(alert.id);
}

document.getElementById("alert-list").addEventListener("click", (event) => {
  const item = event.target.closest("[data-alert-id]");
  if (item) openAlert(Number(item.dataset.alertId));
});

async function openAlert(alertId) {
  const alert = await attempt(() => api(`/alerts/${alertId}`));
  if (!alert) return;
  state.alerts.set(alert.id, alert);
  const steps = ["under_review", "confirmed", "justified", "false_positive"];
  openDrawer(`
    <h2>${t("alert.detail")} #${alert.id}</h2>
    <p><b>${(alert.incident_kinds?.length ? alert.incident_kinds : [alert.kind]).map((k) => esc(label("ak.", k))).join(" · ")}</b>
       · ${esc(plateOf(alert.vehicle_id))} ·
       <span class="badge ${esc(alert.severity)}">${esc(label("sev.", alert.severity))}</span>
       <span class="badge" id="alert-state">${esc(label("as.", alert.state))}</span></p>
    <p>${formatTime(alert.started_at, true)} – ${alert.ended_at ? formatTime(alert.ended_at, true) : "…"}</p>
    <details><summary>${t("alert.evidence")}</summary><pre>${esc(JSON.stringify(alert.evidence, null, 1))}</pre></details>
    <p id="evidence-note" class="note">…</p>
    <button type="button" id="alert-replay">${t("replay.openAlert")}</button>
    ${canWrite() ? `<label>${t("alert.review.reason")}<textarea id="review-reason" rows="2"></textarea></label>
    <div class="row wrap">${steps.map((s) => `<button type="button" data-review="${s}">${t(`alert.to.${s}`)}</button>`).join("")}</div>` : ""}
    <h3>${t("alert.history")}</h3><ul id="review-history" class="list compact"></ul>`, "alert");
  drawer.dataset.alertId = String(alert.id);
  document.getElementById("alert-replay").addEventListener("click", () => {
    const kinds = alert.incident_kinds?.length ? alert.incident_kinds : [alert.kind];
    const [since, until] = alertSpan(alert);
    openReplay({ vehicleId: alert.vehicle_id, plate: plateOf(alert.vehicle_id), since, until,
      alert: { id: alert.id, kinds, startedAt: alert.started_at, endedAt: alert.ended_at } });
  });
  for (const button of drawerBody.querySelectorAll("[data-review]")) {
    button.addEventListener("click", () => reviewAlert(alert.id, button.dataset.review, button));
  }
  loadReviewHistory(alert.id);
  const points = await attempt(() => evidenceTrack(alert));
  const note = document.getElementById("evidence-note");
  if (points && note) note.textContent = drawTrack(points, "#c62828") ? `${t("alert.evidence")}: ${points.length} GPS` : t("alert.noTrack");
}

/** Minutes of track shown before and after an alert's span. */
const ALERT_PAD_MS = 10 * 60 * 1000;

/** An alert's span widened by ten minutes on each side (an alert still open: its first
 * hour), as ISO strings. */
function alertSpan(alert) {
  const endMs = alert.ended_at ? Date.parse(alert.ended_at) : Date.parse(alert.started_at) + 60 * 60 * 1000;
  return [new Date(Date.parse(alert.started_at) - ALERT_PAD_MS).toISOString(), new Date(endMs + ALERT_PAD_MS).toISOString()];
}

/** The positions behind an alert: its evidence time range if it names one, else its
 * widened span (alertSpan). */
function evidenceTrack(alert) {
  const ev = alert.evidence || {};
  const [padSince, padUntil] = alertSpan(alert);
  const since = ev.since || ev.from || ev.start || padSince;
  const until = ev.until || ev.to || ev.end || padUntil;
  return apiAll("/positions", { vehicle_id: alert.vehicle_id, since, until }, 5000);
}

async function loadReviewHistory(alertId) {
  const list = document.getElementById("review-history");
  try {
    const steps = await api(`/alerts/${alertId}/reviews`);
    list.innerHTML = steps.map((s) => `<li>${formatTime(s.at, true)} ${esc(s.actor)}:
      ${esc(label("as.", s.from_state))} → <b>${esc(label("as.", s.to_state))}</b> ${esc(s.reason || "")}</li>`).join("");
  } catch (error) {
    list.innerHTML = `<li class="note">${esc(error.message)}</li>`;
  }
}

async function reviewAlert(alertId, to, button) {
  const reason = document.getElementById("review-reason").value.trim() || null;
  const updated = await attempt(() => api(`/alerts/${alertId}/review`, { method: "POST", body: { to, reason } }), button);
  if (!updated) return;
  state.alerts.set(updated.id, updated);
  for (const other of state.alerts.values()) {  // the rest of the incident took the step too
    if (updated.incident_id && other.incident_id === updated.incident_id) other.state = updated.state;
  }
  renderAlerts();
  document.getElementById("alert-state").textContent = label("as.", updated.state);
  say(t("alert.reviewed", { state: label("as.", updated.state) }), "ok");
  loadReviewHistory(alertId);
}

// -- request queue --------------------------------------------------------------------------

const queueDate = document.getElementById("queue-date");
const queueState = document.getElementById("queue-state");
queueDate.value = state.today;
queueDate.addEventListener("change", loadQueue);
queueState.addEventListener("change", loadQueue);
const CANCELLABLE = new Set(["submitted", "approved", "planned", "assigned"]);

async function loadQueue() {
  const [from, to] = dayRange(queueDate.value || state.today);
  const items = await attempt(() => apiAll("/trip-requests", { pickup_from: from, pickup_to: to, state: queueState.value }));
  if (!items) return;
  const list = document.getElementById("queue-list");
  const canCancel = canWrite();
  list.innerHTML = items.length ? items.map((r) => `
    <li data-request-id="${r.id}">
      <b>#${r.id}</b> ${formatTime(r.pickup_earliest)}–${formatTime(r.pickup_latest)} ${esc(r.purpose)}
      · ${r.passengers}${r.vehicle_class ? " · " + esc(label("vc.", r.vehicle_class)) : ""}${r.nev_required ? " · NEV" : ""}
      <span class="badge">${esc(label("rs.", r.state))}</span>
      <div class="sub">${esc(r.origin_address || "")} → ${esc(r.destination_address || "")}</div>
      ${canCancel && CANCELLABLE.has(r.state) ? `<div class="row"><input class="cancel-reason" placeholder="${t("queue.cancel.reason")}">
        <button type="button" data-cancel="${r.id}">${t("queue.cancel")}</button></div>` : ""}
    </li>`).join("") : `<li class="note">${t("queue.empty")}</li>`;
}

document.getElementById("queue-list").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-cancel]");
  if (!button) return;
  const reason = button.parentElement.querySelector(".cancel-reason").value.trim();
  const done = await attempt(() => api(`/trip-requests/${button.dataset.cancel}/transitions`,
    { method: "POST", body: { to: "cancelled", reason: reason || null } }), button);
  if (done) loadQueue();
});

// -- plan the day -------------------------------------------------------------------------

async function loadLookups() {
  const drivers = await attempt(() => apiAll("/drivers"));
  if (drivers) for (const d of drivers) state.drivers.set(d.id, d);
  try {
    for (const l of await apiAll("/lessors")) state.lessors.set(l.id, l);
  } catch {
    /* lessor names are a nicety: ids are shown instead */
  }
}

/** A car named for people: a pool car's plate, a leased car's lessor and class. */
function carName(car) {
  if (car == null) return "?";
  if (typeof car === "object") {
    const lessor = state.lessors.get(car.lessor_id)?.name || t("reason.lessor");
    return `${lessor} · ${label("vc.", car.class)}`;
  }
  return plateOf(car);
}

/** Why the plan gave the trip its car, in the page's language (the stored text if no code). */
function reasonText(assignment) {
  const reason = assignment.reason;
  if (!reason) return assignment.explanation;
  const p = reason.params || {};
  let text = t(`reason.${reason.code}`, {
    car: carName(p.vehicle), added: formatMoney(p.added_cny || 0),
    lease: carName(p.lease_option), lease_cny: formatMoney(p.lease_cny || 0),
    pool: carName(p.pool_vehicle), pool_cny: formatMoney(p.pool_cny || 0),
    cause: t(`reason.cause.${p.cause}`), by: p.by || "",
  });
  if (p.from_vehicle != null) text += t("reason.from", { car: carName(p.from_vehicle) });
  if (p.shared_with?.length) text += t("reason.shared", { ids: p.shared_with.map((id) => `#${id}`).join(", ") });
  if (p.moved_from != null) text += t("reason.moved", { car: carName(p.moved_from) });
  return text;
}

function sharedBadge(plan, requestId) {
  const others = (plan.shared_rides || {})[requestId];
  if (!others || !others.length) return "";
  return ` <span class="badge shared">${t("plan.shared", { ids: others.map((id) => `#${id}`).join(", ") })}</span>`;
}

/** A refused or forced override's rule in the page's language (an err.<code> label filled
 * from the API's figures: plates, names, times in the display zone), else the server's words. */
function breachText(entry) {
  const c = entry.ctx || {};
  const number = (v) => (typeof v === "number" ? v.toLocaleString("en", { maximumFractionDigits: 1 }) : v);
  const assignment = c.assignment_id != null ? `#${c.assignment_id}` : "";
  const key = `err.${entry.type}`;
  const text = t(key, {
    ...c, assignment, request: c.request_id != null ? `#${c.request_id}` : "",
    wanted: label("vc.", c.wanted), actual: label("vc.", c.actual), status: t(`vstatus.${c.status}`),
    pickup: formatTime(c.pickup), dropoff: formatTime(c.dropoff), earliest: formatTime(c.earliest),
    latest: formatTime(c.latest), shift_start: formatTime(c.shift_start), shift_end: formatTime(c.shift_end),
    km: number(c.km), usable_km: number(c.usable_km),
    ride_min: Math.round((c.ride_s || 0) / 60), max_ride_min: Math.round((c.max_ride_s || 0) / 60),
    clash: assignment ? t("override.clash", { assignment }) : "",
  });
  return text === key ? entry.msg || entry.type : text;
}

/** The warning badge of a forced override, and the rules it breaks. */
function forcedBadge(a) {
  if (!a.forced_reason) return "";
  const rules = (a.override_warnings || []).map((w) => breachText({ type: w.code, ctx: w.params }));
  return `<br><span class="badge warning forced" title="${esc(t("override.forced.title", { rules: rules.join("; ") }))}">⚠ ${esc(t("override.forced", { reason: a.forced_reason }))}</span>
    <ul class="list compact override-warnings">${rules.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>`;
}

function overrideNote(a) {
  if (a.override_note) return `<br><i>${esc(t("override.note", { note: a.override_note }))}</i>`;
  return a.override_reason ? `<br><i>${t("plan.override.done")}: ${esc(a.override_reason)}</i>` : "";
}

/** The one override form (a row under the assignment's row), with the refusal if any. */
function overrideForm(a) {
  const o = state.override;
  const refused = o.refused || [];
  return `<tr class="override-row" data-override-form="${a.id}"><td colspan="7">
      <label>${t("plan.override.vehicle")} <input class="ov-vehicle" list="ov-cars" autocomplete="off"
        placeholder="${esc(t("override.pick.car"))}" value="${esc(o.vehicle)}"></label>
      <label>${t("plan.override.driver")} <input class="ov-driver" list="ov-drivers" autocomplete="off"
        placeholder="${esc(t("override.pick.driver"))}" value="${esc(o.driver)}"></label>
      <input class="ov-reason" placeholder="${esc(t("plan.override.reason"))}" value="${esc(o.reason)}">
      <button type="button" data-override-save="${a.id}">${t("plan.override.save")}</button>
      <div class="ov-refused" ${refused.length ? "" : "hidden"}>
        <p class="note">${t("override.refused")}</p>
        <ul class="list compact ov-violations">${refused.map((e) => `<li data-code="${esc(e.type)}">${esc(breachText(e))}</li>`).join("")}</ul>
        <input class="ov-force-reason" placeholder="${esc(t("override.force.reason"))}" value="${esc(o.forceReason)}">
        <button type="button" class="warn" data-override-force="${a.id}">${t("override.force")}</button>
      </div>
    </td></tr>`;
}

function driverChoice(d) {
  return d.phone ? `${d.name} ${d.phone}` : `${d.name} #${d.id}`;
}

/** The picker's cars, fetched when a dispatcher first opens an override, then its lists. */
async function loadPicker() {
  if (!state.poolCars) {
    const items = await attempt(() => apiAll("/vehicles", { ownership: "pool" }));
    state.poolCars = items || [...cars.cars.values()].filter((c) => c.ownership !== "leased").map((c) => ({ id: c.vehicle_id, plate: c.plate }));
    state.poolCars.sort((a, b) => (a.plate || "").localeCompare(b.plate || ""));
  }
  fillPicker();
}

/** One list of pool cars (by plate) and one of drivers for the open override form: the
 * inputs search them as the dispatcher types; no row carries a list of its own. */
function fillPicker() {
  const carList = document.getElementById("ov-cars");
  const driverList = document.getElementById("ov-drivers");
  if (carList) carList.innerHTML = state.poolCars.map((c) => `<option value="${esc(c.plate)}">${esc(c.vehicle_class ? label("vc.", c.vehicle_class) : "")}</option>`).join("");
  if (driverList) driverList.innerHTML = [...state.drivers.values()].map((d) => `<option value="${esc(driverChoice(d))}"></option>`).join("");
}

function renderPlan() {
  const plan = state.plan;
  const view = document.getElementById("plan-view");
  const accept = document.getElementById("plan-accept");
  if (!plan) {
    view.innerHTML = `<p class="note">${t("plan.none")}</p>`;
    accept.hidden = true;
    return;
  }
  accept.hidden = plan.status !== "proposed" || !canWrite();
  const writer = canWrite();
  const rows = plan.assignments.map((a) => {
    const who = a.kind === "pool"
      ? `${esc(plateOf(a.vehicle_id))} · ${esc(state.drivers.get(a.driver_id)?.name || `#${a.driver_id}`)}`
      : esc(state.lessors.get(a.lessor_id)?.name || `#${a.lessor_id}`);
    const row = `<tr data-assignment-id="${a.id}"${a.forced_reason ? ' class="forced"' : ""}>
      <td>#${a.request_id}</td><td>${formatTime(a.planned_pickup)}</td>
      <td><span class="badge ${a.kind}">${t(`kind.${a.kind}`)}</span>${sharedBadge(plan, a.request_id)}</td><td>${who}</td>
      <td>¥${formatMoney(a.cost_cny)}</td>
      <td class="explanation">${esc(reasonText(a))}${overrideNote(a)}${forcedBadge(a)}</td>
      <td>${writer && a.kind === "pool" ? `<button type="button" data-override="${a.id}">${t("plan.override")}</button>` : ""}</td>
    </tr>`;
    return state.override && state.override.id === a.id ? row + overrideForm(a) : row;
  }).join("");
  const unserved = plan.unserved.map((u) => `<li>#${u.request_id}: ${esc(label("unserved.", u.reason))}</li>`).join("");
  view.innerHTML = `
    <p class="plan-summary" data-plan-id="${plan.id}" data-status="${esc(plan.status)}">
      <span class="badge">${esc(label("ps.", plan.status))}</span>
      ${t("plan.summary", { pool: plan.pool_count, lease: plan.lease_count, cost: formatMoney(plan.total_cost_cny), solve: Number(plan.solve_s || 0).toFixed(1) })}</p>
    <table class="plan"><thead><tr><th>${t("col.request")}</th><th>${t("col.pickup")}</th><th>${t("col.kind")}</th>
      <th>${t("col.vehicle")}</th><th>${t("col.cost")}</th><th>${t("col.explanation")}</th><th></th></tr></thead>
      <tbody>${rows}</tbody></table>
    <datalist id="ov-cars"></datalist><datalist id="ov-drivers"></datalist>
    ${unserved ? `<h3>${t("plan.unserved")}</h3><ul class="list compact">${unserved}</ul>` : ""}`;
  if (state.override && state.poolCars) fillPicker();
  carList.changed(); // the cars' drivers of today come from the plan
}

/** The form's fields kept in state, so that a redraw (language, live update) keeps them. */
function keepForm(form) {
  const o = state.override;
  o.vehicle = form.querySelector(".ov-vehicle").value;
  o.driver = form.querySelector(".ov-driver").value;
  o.reason = form.querySelector(".ov-reason").value;
  const force = form.querySelector(".ov-force-reason");
  if (force) o.forceReason = force.value;
}

async function saveOverride(id, force, button) {
  const form = button.closest("tr");
  keepForm(form);
  const o = state.override;
  const assignment = state.plan.assignments.find((a) => a.id === id);
  const body = { override_reason: o.reason.trim() || null };
  const vehicle = o.vehicle.trim() && state.poolCars?.find((c) => c.plate === o.vehicle.trim());
  const driver = o.driver.trim() && [...state.drivers.values()].find((d) => driverChoice(d) === o.driver.trim() || d.name === o.driver.trim());
  if (o.vehicle.trim() && !vehicle) return say(t("override.pick.unknown", { value: o.vehicle }), "error");
  if (o.driver.trim() && !driver) return say(t("override.pick.unknown", { value: o.driver }), "error");
  if (vehicle && vehicle.id !== assignment.vehicle_id) body.vehicle_id = vehicle.id;
  if (driver && driver.id !== assignment.driver_id) body.driver_id = driver.id;
  if (force) Object.assign(body, { force: true, force_reason: o.forceReason.trim() || null });
  button.disabled = true;
  try {
    await api(`/assignments/${id}`, { method: "PATCH", body });
  } catch (error) {
    const rules = Array.isArray(error.detail) ? error.detail.filter((e) => e.type && `err.${e.type}` !== t(`err.${e.type}`)) : [];
    if (error.status === 422 && rules.length && !force) {
      o.refused = error.detail;
      renderPlan();
      say(`${t("override.refused")} ${error.detail.map(breachText).join(lang() === "zh" ? "；" : "; ")}`, "error");
    } else {
      say(explain(error, { fields: { override_reason: "plan.override.reason", force_reason: "override.force.reason" } }), "error");
    }
    return undefined;
  } finally {
    button.disabled = false;
  }
  state.override = null;
  state.plan = await attempt(() => api(`/dispatch/plans/${state.plan.id}`)) || state.plan;
  renderPlan();
  say(t("plan.override.done"), "ok");
  loadFigures();
  return undefined;
}

document.getElementById("plan-view").addEventListener("click", async (event) => {
  const open = event.target.closest("[data-override]");
  if (open) {
    const id = Number(open.dataset.override);
    if (state.override && state.override.id === id) {
      state.override = null;
    } else {
      const a = state.plan.assignments.find((x) => x.id === id);
      const d = state.drivers.get(a.driver_id);
      state.override = { id, vehicle: plateOf(a.vehicle_id), driver: d ? driverChoice(d) : "", reason: "", forceReason: "", refused: null };
    }
    renderPlan();
    if (state.override) await loadPicker();
    return;
  }
  const save = event.target.closest("[data-override-save]");
  if (save) return saveOverride(Number(save.dataset.overrideSave), false, save);
  const force = event.target.closest("[data-override-force]");
  if (force) return saveOverride(Number(force.dataset.overrideForce), true, force);
  return undefined;
});

async function loadLatestPlan() {
  try {
    const page = await api("/dispatch/plans", { query: { service_date: state.today, limit: 200 } });
    const plans = page.items.filter((p) => p.status !== "superseded");
    state.plan = plans.length ? plans[plans.length - 1] : null;
    renderPlan();
  } catch (error) {
    document.getElementById("plan-view").innerHTML = `<p class="note">${esc(error.message)}</p>`;
  }
}

document.getElementById("plan-day").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.textContent = t("plan.running");
  const plan = await attempt(() => api("/dispatch/plans", { method: "POST", body: { service_date: state.today, time_limit_s: 10 } }), button);
  button.textContent = t("plan.button");
  if (!plan) return;
  state.plan = plan;
  renderPlan();
  loadQueue();
});

document.getElementById("plan-accept").addEventListener("click", async (event) => {
  const plan = await attempt(() => api(`/dispatch/plans/${state.plan.id}/accept`, { method: "POST" }), event.currentTarget);
  if (!plan) return;
  state.plan = plan;
  renderPlan();
  say(t("plan.accepted"), "ok");
  loadQueue();
  loadFigures();
});

async function planChanged(message) {
  if (message.service_date !== state.today) return;
  say(t("plan.changed", { status: label("ps.", message.status) }), "info");
  try {
    state.plan = await api(`/dispatch/plans/${message.plan_id}`);
    renderPlan();
  } catch (error) {
    say(t("error.generic", { detail: error.message }), "error");
  }
  loadQueue();
}

// -- figures ------------------------------------------------------------------------------

async function loadFigures() {
  const note = document.getElementById("figures-note");
  try {
    const f = await api("/dispatch/figures", { query: { service_date: state.today } });
    document.getElementById("fig-trips").textContent = f.trips_served;
    document.getElementById("fig-started").textContent = f.trips_started;
    document.getElementById("fig-completed").textContent = f.trips_completed;
    document.getElementById("fig-pool").textContent = f.pool_trips;
    document.getElementById("fig-lease").textContent = f.lease_trips;
    document.getElementById("fig-cost").textContent = `¥${formatMoney(f.cost_cny)}`;
    document.getElementById("fig-util").textContent = formatPercent(f.pool_utilisation);
    document.getElementById("fig-nev").textContent = formatPercent(f.nev_share);
    note.hidden = true;
  } catch (error) {
    note.textContent = t("figures.unavailable", { detail: error.message });
    note.hidden = false;
  }
}

// -- tabs, start ------------------------------------------------------------------------------

for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[data-tab]")) other.classList.toggle("active", other === tab);
    for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.id !== `tab-${tab.dataset.tab}`;
  });
}

onLangChange(() => {
  const form = document.querySelector(".override-row");
  if (form && state.override) keepForm(form);
  renderAlerts();
  renderPlan();
  loadQueue();
  cars.redraw();
});

async function main() {
  const mapLoaded = loadMap();
  state.me = await attempt(() => startPage());
  if (!state.me) return;
  if (!["admin", "dispatcher"].includes(state.me.role)) document.getElementById("plan-day").hidden = true;
  const feed = new LiveFeed({
    positions: (m) => {
      cars.update(m.items);
      carList.changed();
    },
    alert: alertArrived,
    plan: planChanged,
  });
  await mapLoaded;
  feed.connect();
  await Promise.all([carList.load(), loadAlerts(), loadQueue(), loadFigures(), loadLookups().then(loadLatestPlan)]);
  document.body.dataset.ready = "true";
}

main();
