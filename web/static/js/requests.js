// Agency staff file a trip request (draft, then submitted for approval), follow it, see the
// car, plate, driver and planned pickup once it is assigned, and cancel it with a reason until
// the trip starts. Refusals are said in the page's language (refusals.js). Origin and
// destination are chosen from the named places the requester may see (GET /places?search=),
// or given as a free address with coordinates (typed, or clicked on the map).

import "./labels_requests.js";
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

/** The two ends of a trip and the colour of their markers. */
const ENDS = { origin: "#2e7d32", destination: "#c62828" };
/** Places offered per search, and the pause after typing before asking, milliseconds. */
const PLACES_SHOWN = 8;
const SEARCH_PAUSE_MS = 200;

const L = window.L;
let me = null;
let requests = [];
const served = new Map(); // request id -> GET /trip-requests/{id}/assignment
const chosen = { origin: null, destination: null }; // name of the place picked for each end
const markers = L.layerGroup();
const map = createMap("pick-map", { zoom: 10 });
markers.addTo(map);

/** The origin's and the destination's inputs, from the page's one template: ids <end>-<part>. */
function buildEnds() {
  const template = document.getElementById("place-end").content.firstElementChild;
  for (const end of Object.keys(ENDS)) {
    const fieldset = template.cloneNode(true);
    fieldset.id = `${end}-end`;
    fieldset.querySelector("legend").dataset.i18n = `requests.${end}`;
    for (const element of fieldset.querySelectorAll("[data-part]")) element.id = `${end}-${element.dataset.part}`;
    fieldset.querySelector("[data-part='place']").setAttribute("aria-controls", `${end}-options`);
    document.getElementById("place-ends").append(fieldset);
  }
}
buildEnds();

/** The input of one end: part is place, options, address, lat or lon. */
const field = (end, part) => document.getElementById(`${end}-${part}`);

/** The point of an end (degrees, Leaflet's {lat, lng}), or null while a coordinate is missing. */
function pointOf(end) {
  const lat = field(end, "lat").value;
  const lon = field(end, "lon").value;
  return lat === "" || lon === "" ? null : { lat: Number(lat), lng: Number(lon) };
}

function setPoint(end, lat, lon) {
  field(end, "lat").value = Number(lat).toFixed(5);
  field(end, "lon").value = Number(lon).toFixed(5);
}

function clearPoint(end) {
  field(end, "lat").value = "";
  field(end, "lon").value = "";
  field(end, "place").value = "";
  chosen[end] = null;
}

/** The end a click on the map sets: the origin first, then the destination, then anew. */
function nextEnd() {
  const end = !pointOf("origin") || pointOf("destination") ? "origin" : "destination";
  if (end === "origin") clearPoint("destination");
  return end;
}

map.on("click", (event) => {
  const end = nextEnd();
  clearPoint(end);
  setPoint(end, event.latlng.lat, event.latlng.lng);
  drawPoints();
});

function drawPoints() {
  markers.clearLayers();
  const text = [];
  const shown = [];
  for (const [end, colour] of Object.entries(ENDS)) {
    const p = pointOf(end);
    if (!p || !Number.isFinite(p.lat) || !Number.isFinite(p.lng)) continue;
    L.circleMarker(p, { radius: 7, color: colour, fillColor: colour, fillOpacity: 0.8 }).addTo(markers);
    shown.push([p.lat, p.lng]);
    const name = chosen[end] ? `${chosen[end]} · ` : "";
    text.push(`${t(`requests.${end}`)}: ${name}${p.lat.toFixed(5)}, ${p.lng.toFixed(5)}`);
  }
  document.getElementById("points").textContent = text.join(" · ");
  return shown;
}

/** Show both ends on the map after a place was picked. */
function framePoints() {
  const shown = drawPoints();
  if (shown.length === 1) map.setView(shown[0], Math.max(map.getZoom(), 12));
  if (shown.length === 2) map.fitBounds(shown, { padding: [30, 30], maxZoom: 14 });
}

/** Fill an end from a named place: its name, address and coordinates. */
function choosePlace(end, place) {
  field(end, "place").value = place.name;
  field(end, "address").value = (place.address ? `${place.name}（${place.address}）` : place.name).slice(0, 200);
  setPoint(end, place.lat, place.lon);
  chosen[end] = place.name;
  framePoints();
}

/** The places the requester may pick as small dots on the map; a click on one picks it. */
async function drawPlaces() {
  const page = await attempt(() => api("/places", { query: { limit: 200 } }));
  if (!page) return;
  const dots = L.layerGroup().addTo(map);
  for (const place of page.items) {
    const dot = L.circleMarker([place.lat, place.lon],
      { radius: 4, color: "#546e7a", weight: 1, fillOpacity: 0.7, bubblingMouseEvents: false });
    dot.bindTooltip(() => `${esc(place.name)} · ${esc(label("pk.", place.kind))}`);
    dot.on("click", () => choosePlace(nextEnd(), place));
    dot.addTo(dots);
  }
}

/** The searchable place list of one end: matches as the requester types, picked by click or Enter. */
function placePicker(end) {
  const input = field(end, "place");
  const list = field(end, "options");
  let found = [];
  let timer = null;
  let asked = 0;

  function show() {
    list.innerHTML = found.length ? found.map((p, index) => `<li role="option" data-index="${index}">
      <b>${esc(p.name)}</b> <span class="badge">${esc(label("pk.", p.kind))}</span>
      ${p.address ? `<div class="sub">${esc(p.address)}</div>` : ""}</li>`).join("")
      : `<li class="note">${esc(t("requests.place.none"))}</li>`;
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function hide() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  async function search() {
    const ask = ++asked;
    const page = await attempt(() => api("/places", { query: { search: input.value.trim(), limit: PLACES_SHOWN } }));
    if (!page || ask !== asked || document.activeElement !== input) return; // a newer search, or gone
    found = page.items;
    show();
  }

  function choose(place) {
    hide();
    choosePlace(end, place);
  }

  input.addEventListener("focus", search);
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_PAUSE_MS);
  });
  input.addEventListener("blur", hide);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hide();
    if (event.key === "Enter" && !list.hidden && found.length) {
      event.preventDefault();
      choose(found[0]);
    }
  });
  // mousedown, not click: it comes before the input's blur closes the list
  list.addEventListener("mousedown", (event) => {
    const item = event.target.closest("[data-index]");
    if (!item) return;
    event.preventDefault();
    choose(found[Number(item.dataset.index)]);
  });
  return { redraw: () => list.hidden || show() };
}

const pickers = Object.keys(ENDS).map(placePicker);
for (const end of Object.keys(ENDS)) {
  for (const part of ["lat", "lon"]) field(end, part).addEventListener("input", drawPoints);
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
  const origin = pointOf("origin");
  const destination = pointOf("destination");
  if (!origin || !destination) {
    say(t("requests.pointsMissing"), "error");
    return;
  }
  for (const [end, p] of [["origin", origin], ["destination", destination]]) {
    if (!(Math.abs(p.lat) <= 90 && Math.abs(p.lng) <= 180)) {
      say(t("requests.coordsRange", { end: t(`requests.${end}`) }), "error");
      return;
    }
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
    origin_lat: origin.lat, origin_lon: origin.lng, origin_address: value("origin-address").trim(),
    destination_lat: destination.lat, destination_lon: destination.lng,
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
  for (const picker of pickers) picker.redraw();
});

async function main() {
  me = await attempt(() => startPage());
  if (!me) return;
  const tomorrow = todayInZone(new Date(Date.now() + 86400000));
  document.getElementById("pickup-earliest").value = `${tomorrow}T09:00`;
  document.getElementById("pickup-latest").value = `${tomorrow}T09:30`;
  await Promise.all([loadMine(), drawPlaces()]);
  setInterval(loadMine, 15000);
  document.body.dataset.ready = "true";
}

main();
