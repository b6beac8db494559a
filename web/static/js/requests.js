// Agency staff file a trip request (draft, then submitted for approval) and follow it.

import { api, apiAll } from "./api.js";
import { label, onLangChange, t } from "./i18n.js";
import { createMap } from "./map.js";
import { attempt, esc, formatTime, say, startPage, todayInZone, zonedToIso } from "./ui.js";

const L = window.L;
let me = null;
let requests = [];
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

function render() {
  const list = document.getElementById("my-requests");
  list.innerHTML = requests.length ? requests.map((r) => `<li data-request-id="${r.id}" data-state="${esc(r.state)}">
      <b>#${r.id}</b> ${formatTime(r.pickup_earliest, true)} ${esc(r.purpose)}
      <span class="badge">${esc(label("rs.", r.state))}</span>
      ${r.state_reason ? `<div class="sub">${esc(r.state_reason)}</div>` : ""}
      <div class="sub">${esc(r.origin_address)} → ${esc(r.destination_address)}</div></li>`).join("")
    : `<li class="note">${t("requests.empty")}</li>`;
}

async function loadMine() {
  const items = await attempt(() => apiAll("/trip-requests"));
  if (!items) return;
  requests = items.filter((r) => r.requester_id === me.id).sort((a, b) => b.id - a.id);
  render();
}

document.getElementById("request-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!points.origin || !points.destination) {
    say(t("requests.pointsMissing"), "error");
    return;
  }
  const value = (id) => document.getElementById(id).value;
  const earliest = value("pickup-earliest");
  const latest = value("pickup-latest");
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
  const created = await attempt(async () => {
    const draft = await api("/trip-requests", { method: "POST", body });
    return api(`/trip-requests/${draft.id}/transitions`, { method: "POST", body: { to: "submitted" } });
  }, button);
  if (!created) {
    loadMine();
    return;
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
