// The driver's phone view: today's trips in order, navigation, arrived / start / complete
// with the odometer, report a problem, and optional phone location sharing.

import { api } from "./api.js";
import { label, onLangChange, t } from "./i18n.js";
import { LiveFeed } from "./live.js";
import { attempt, esc, formatTime, say, startPage } from "./ui.js";

let stops = [];
const feed = new LiveFeed({
  plan: () => loadStops(),
  location_ack: (m) => (document.getElementById("share-note").textContent = t("driver.share.on", { plate: m.plate })),
  error: (m) => say(t("error.generic", { detail: m.message }), "error"),
});

/** Amap navigation to a WGS-84 point (the app converts the coordinates itself). */
function navigationUrl(lat, lon, name) {
  const to = `${lon},${lat},${encodeURIComponent(name || "")}`;
  return `https://uri.amap.com/navigation?to=${to}&mode=car&coordinate=wgs84&callnative=1`;
}

function nextAction(stop) {
  const s = stop.request.state;
  if (s === "assigned" && !stop.arrived) return "arrived";
  if (s === "assigned") return "started";
  if (s === "in_progress") return "completed";
  return null;
}

function render() {
  const box = document.getElementById("stops");
  if (!stops.length) {
    box.innerHTML = `<p class="note spaced">${t("driver.empty")}</p>`;
    return;
  }
  box.innerHTML = stops.map((stop) => {
    const a = stop.assignment;
    const r = stop.request;
    const action = nextAction(stop);
    const target = r.state === "in_progress" ? [r.destination_lat, r.destination_lon, r.destination_address] : [r.origin_lat, r.origin_lon, r.origin_address];
    const needsOdometer = action === "started" || action === "completed";
    return `<article class="stop${action ? "" : " done"}" data-assignment-id="${a.id}" data-state="${esc(r.state)}">
      <div class="when">${formatTime(a.planned_pickup)} <span class="badge">${esc(label("rs.", r.state))}</span></div>
      <div>${esc(r.purpose)} · ${r.passengers} · <b>${esc(stop.plate || "")}</b></div>
      <div class="addr">📍 ${esc(r.origin_address || `${r.origin_lat.toFixed(4)}, ${r.origin_lon.toFixed(4)}`)}<br>
        🏁 ${esc(r.destination_address || `${r.destination_lat.toFixed(4)}, ${r.destination_lon.toFixed(4)}`)}</div>
      ${needsOdometer ? `<label>${t("driver.odometer")}<input class="odometer" type="number" inputmode="decimal" min="0" step="1"></label>` : ""}
      <div class="actions">
        <a href="${navigationUrl(target[0], target[1], target[2])}" target="_blank" rel="noopener">${t("driver.navigate")}</a>
        ${action ? `<button type="button" class="primary" data-event="${action}">${t(action === "arrived" ? "driver.arrived" : action === "started" ? "driver.start" : "driver.complete")}</button>` : ""}
        ${action ? `<button type="button" data-problem="1">${t("driver.problem")}</button>` : ""}
      </div>
      <div class="problem" hidden>
        <label>${t("driver.problem.note")}<textarea class="problem-note" rows="2"></textarea></label>
        <button type="button" data-event="problem">${t("driver.problem")}</button>
      </div>
    </article>`;
  }).join("");
}

async function loadStops() {
  const result = await attempt(() => api("/driver/today"));
  if (result) {
    stops = result;
    render();
  }
}

document.getElementById("stops").addEventListener("click", async (event) => {
  const card = event.target.closest("[data-assignment-id]");
  if (!card) return;
  if (event.target.closest("[data-problem]")) {
    card.querySelector(".problem").hidden = false;
    return;
  }
  const button = event.target.closest("[data-event]");
  if (!button) return;
  const kind = button.dataset.event;
  const body = { event: kind };
  const odometer = card.querySelector(".odometer");
  if (kind === "started" || kind === "completed") {
    if (!odometer || odometer.value.trim() === "") {
      say(t("driver.odometer.missing"), "error");
      odometer?.focus();
      return;
    }
    body.odometer_km = Number(odometer.value);
  }
  if (kind === "problem") body.note = card.querySelector(".problem-note").value.trim() || null;
  const done = await attempt(() => api(`/assignments/${card.dataset.assignmentId}/events`, { method: "POST", body }), button);
  if (!done) return;
  say(t("driver.done", { event: t(`driver.event.${kind}`) }), "ok");
  await loadStops();
});

// -- phone location sharing ---------------------------------------------------------------------

let watchId = null;
document.getElementById("share-location").addEventListener("change", (event) => {
  const note = document.getElementById("share-note");
  if (!event.target.checked) {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    note.textContent = "";
    return;
  }
  if (!navigator.geolocation) {
    note.textContent = t("driver.share.denied", { detail: "geolocation unsupported" });
    event.target.checked = false;
    return;
  }
  watchId = navigator.geolocation.watchPosition(
    (pos) => {
      const c = pos.coords;
      const sent = feed.send({
        type: "location", lat: c.latitude, lon: c.longitude, accuracy_m: c.accuracy,
        speed_kmh: c.speed ? c.speed * 3.6 : 0, heading_deg: c.heading || 0, ts: new Date(pos.timestamp).toISOString(),
      });
      if (!sent) note.textContent = t("live.unavailable");
    },
    (error) => {
      note.textContent = t("driver.share.denied", { detail: error.message });
      event.target.checked = false;
    },
    { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 },
  );
});

onLangChange(render);

async function main() {
  const me = await attempt(() => startPage());
  if (!me) return;
  await loadStops();
  feed.connect();
  document.body.dataset.ready = "true";
}

main();
