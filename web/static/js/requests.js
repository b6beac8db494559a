// Agency staff file a trip request (draft, then submitted for approval), follow it, see the
// car, plate, driver and planned pickup once it is assigned, and cancel it with a reason until
// the trip starts. Refusals are said in the page's language (refusals.js).

import { api, apiAll } from "./api.js";
import { label, onLangChange, t } from "./i18n.js";
import { createMap } from "./map.js";
import { explain } from "./refusals.js";
import { attempt, esc, formatTime, say, startPage, todayInZone, zonedToIso } from "./ui.js";

/** The page's names of the fields a request can be refused for. */
const FIELDS = {
  purpose: "requests.purpose", passengers: "requests.passengers", vehicle_class: "requests.class",
  origin_address: "requests.origin", destination_address: "requests.destination", origin_lat: "requests.origin",
  origin_lon: "requests.origin", destination_lat: "requests.destination", destination_lon: "requests.destination",
  pickup_earliest: "requests.earliest", pickup_latest: "requests.latest", reason: "requests.cancel.reason",
};
/** The longest pickup window the server accepts (MAX_PICKUP_WINDOW_HOURS), milliseconds. */
const MAX_WINDOW_MS = 24 * 3600 * 1000;
/** States a requester may still cancel from (until the trip starts). */
const CANCELLABLE = new Set(["draft", "submitted", "approved", "planned", "assigned"]);
/** States with a car and driver to show. */
const SERVED = new Set(["assigned", "in_progress", "completed"]);

const L = window.L;
let me = null;
let requests = [];
const served = new Map(); // request id -> GET /trip-requests/{id}/assignment
const points = { origin: null, destination: null };
const markers = L.layerGroup();
const map = createMap("pick-map", { zoom: 10 });
markers.addTo(map);

map.on("click", (event) => {
  const key = !points.origin || points.destination ? "origin" : "destination";
  if (key === "origin") points.destination = null;
  points[key] = event.latlng;
  drawPoints();
});

function drawPoints() {
  markers.clearLayers();
  const text = [];
  for (const [key, colour] of [["origin", "#2e7d32"], ["destination", "#c62828"]]) {
    const p = points[key];
    if (!p) continue;
    L.circleMarker(p, { radius: 7, color: colour, fillColor: colour, fillOpacity: 0.8 }).addTo(markers);
    text.push(`${t(`requests.${key}`)}: ${p.lat.toFixed(5)}, ${p.lng.toFixed(5)}`);
  }
  document.getElementById("points").textContent = text.join(" · ");
}

/** The car and driver of an assigned request, in words. */
function servedText(s) {
  const values = { plate: s.plate || "–", pickup: formatTime(s.planned_pickup, true) };
  if (s.kind === "lease") return t("requests.servedLease", { ...values, lessor: s.lessor_name || "", phone: s.lessor_phone || "" });
  return t("requests.served", { ...values, driver: s.driver_name || "–", phone: s.driver_phone || "" });
}

function render() {
  const list = document.getElementById("my-requests");
  list.innerHTML = requests.length ? requests.map((r) => {
    const s = served.get(r.id);
    return `<li data-request-id="${r.id}" data-state="${esc(r.state)}">
      <b>#${r.id}</b> ${formatTime(r.pickup_earliest, true)} ${esc(r.purpose)}
      <span class="badge">${esc(label("rs.", r.state))}</span>
      ${SERVED.has(r.state) && s ? `<div class="served">${esc(servedText(s))}</div>` : ""}
      ${r.state_reason ? `<div class="sub">${esc(r.state_reason)}</div>` : ""}
      <div class="sub">${esc(r.origin_address)} → ${esc(r.destination_address)}</div>
      ${CANCELLABLE.has(r.state) ? `<div class="cancel">
        <button type="button" data-cancel-open="1">${t("requests.cancel")}</button>
        <span class="cancel-form" hidden><input class="cancel-reason" maxlength="500" placeholder="${esc(t("requests.cancel.reason"))}">
        <button type="button" data-cancel="1">${t("requests.cancel.confirm")}</button></span></div>` : ""}</li>`;
  }).join("")
    : `<li class="note">${t("requests.empty")}</li>`;
}

async function loadMine() {
  const items = await attempt(() => apiAll("/trip-requests"));
  if (!items) return;
  requests = items.filter((r) => r.requester_id === me.id).sort((a, b) => b.id - a.id);
  await Promise.all(requests.filter((r) => SERVED.has(r.state)).map(async (r) => {
    try {
      served.set(r.id, await api(`/trip-requests/${r.id}/assignment`));
    } catch {
      served.delete(r.id); // not assigned after all (re-planned): the state badge says so
    }
  }));
  render();
}

document.getElementById("my-requests").addEventListener("click", async (event) => {
  const item = event.target.closest("[data-request-id]");
  if (!item) return;
  if (event.target.closest("[data-cancel-open]")) {
    item.querySelector(".cancel-form").hidden = false;
    item.querySelector(".cancel-reason").focus();
    return;
  }
  const button = event.target.closest("[data-cancel]");
  if (!button) return;
  const reason = item.querySelector(".cancel-reason").value.trim();
  if (!reason) {
    say(t("requests.cancel.reasonMissing"), "error");
    return;
  }
  const id = item.dataset.requestId;
  button.disabled = true;
  try {
    await api(`/trip-requests/${id}/transitions`, { method: "POST", body: { to: "cancelled", reason } });
  } catch (error) {
    say(explain(error, { fields: FIELDS, byStatus: { 409: "requests.cancel.tooLate" } }), "error");
    button.disabled = false;
    loadMine();
    return;
  }
  say(t("requests.cancelled", { id }), "ok");
  loadMine();
});

document.getElementById("request-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!points.origin || !points.destination) {
    say(t("requests.pointsMissing"), "error");
    return;
  }
  const value = (id) => document.getElementById(id).value;
  const earliest = value("pickup-earliest");
  const latest = value("pickup-latest");
  if (earliest && latest && latest < earliest) {
    say(t("requests.windowOrder"), "error");
    return;
  }
  if (earliest && latest && new Date(zonedToIso(latest)) - new Date(zonedToIso(earliest)) > MAX_WINDOW_MS) {
    say(t("requests.windowTooLong"), "error");
    return;
  }
  const body = {
    agency_id: me.org_id,
    purpose: value("purpose").trim(),
    passengers: Number(value("passengers")),
    vehicle_class: value("vehicle-class") || null,
    nev_required: document.getElementById("nev-required").checked,
    origin_lat: points.origin.lat, origin_lon: points.origin.lng, origin_address: value("origin-address").trim(),
    destination_lat: points.destination.lat, destination_lon: points.destination.lng,
    destination_address: value("destination-address").trim(),
    pickup_earliest: earliest ? zonedToIso(earliest) : null,
    pickup_latest: latest ? zonedToIso(latest) : null,
  };
  const button = document.getElementById("request-submit");
  button.disabled = true;
  try {
    const draft = await api("/trip-requests", { method: "POST", body });
    await api(`/trip-requests/${draft.id}/transitions`, { method: "POST", body: { to: "submitted" } });
  } catch (error) {
    say(explain(error, { fields: FIELDS }), "error");
    loadMine();
    return;
  } finally {
    button.disabled = false;
  }
  say(t("requests.submitted"), "ok");
  loadMine();
});

onLangChange(() => {
  render();
  drawPoints();
});

async function main() {
  me = await attempt(() => startPage());
  if (!me) return;
  const tomorrow = todayInZone(new Date(Date.now() + 86400000));
  document.getElementById("pickup-earliest").value = `${tomorrow}T09:00`;
  document.getElementById("pickup-latest").value = `${tomorrow}T09:30`;
  await loadMine();
  setInterval(loadMine, 15000);
  document.body.dataset.ready = "true";
}

main();
