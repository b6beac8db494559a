// The driver's phone view: today's trips in order (whichever agency asked), navigation,
// arrived / start / complete with the odometer, report a problem, and optional phone
// location sharing. Refusals are said in the page's language (refusals.js); the place
// markers are inline SVG, so they show without an emoji font.

import { api } from "./api.js";
import { label, onLangChange, t } from "./i18n.js";
import { LiveFeed } from "./live.js";
import { explain } from "./refusals.js";
import { attempt, esc, formatTime, say, startPage } from "./ui.js";

/** The page's names of the fields a driver's event can be refused for. */
const FIELDS = { odometer_km: "driver.odometer", note: "driver.problem.note", event: "col.state" };
/** A map pin (pickup) and a chequered flag (destination), drawn in the text colour. */
const PIN_ICON = '<svg class="icon pin" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">'
  + '<path fill="currentColor" d="M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.6a2.6 2.6 0 1 1 0-5.2 2.6 2.6 0 0 1 0 5.2z"/></svg>';
const FLAG_ICON = '<svg class="icon flag" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">'
  + '<path fill="currentColor" d="M5 2h2v20H5z"/><path fill="currentColor" d="M7 3h13l-3 4.5 3 4.5H7z"/>'
  + '<path fill="#fff" d="M10 3h3v3h-3zM16 3h3l-1 1.5V6h-2zM13 6h3v3h-3zM7 6h3v3H7zM10 9h3v3h-3zM16 9h2l1 1.5V12h-3z"/></svg>';

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
  box.innerHTML = stops.map((stop, index) => {
    const a = stop.assignment;
    const r = stop.request;
    const action = nextAction(stop);
    const target = r.state === "in_progress" ? [r.destination_lat, r.destination_lon, r.destination_address] : [r.origin_lat, r.origin_lon, r.origin_address];
    const needsOdometer = action === "started" || action === "completed";
    return `<article class="stop${action ? "" : " done"}" data-assignment-id="${a.id}" data-state="${esc(r.state)}">
      <div class="when"><span class="seq">${index + 1}</span> ${formatTime(a.planned_pickup)} <span class="badge">${esc(label("rs.", r.state))}</span></div>
      <div>${esc(r.purpose)} · ${r.passengers} · <b>${esc(stop.plate || "")}</b></div>
      ${stop.agency ? `<div class="sub">${esc(t("driver.agency", { agency: stop.agency }))}</div>` : ""}
      <div class="addr"><span class="place" title="${esc(t("driver.from"))}">${PIN_ICON} ${esc(r.origin_address || `${r.origin_lat.toFixed(4)}, ${r.origin_lon.toFixed(4)}`)}</span>
        <span class="place" title="${esc(t("driver.to"))}">${FLAG_ICON} ${esc(r.destination_address || `${r.destination_lat.toFixed(4)}, ${r.destination_lon.toFixed(4)}`)}</span></div>
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
  try {
    stops = await api("/driver/today");
  } catch (error) {
    say(explain(error, { fields: FIELDS }), "error");
    return;
  }
  render();
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
  button.disabled = true;
  try {
    await api(`/assignments/${card.dataset.assignmentId}/events`, { method: "POST", body });
  } catch (error) {
    say(explain(error, { fields: FIELDS, byStatus: { 404: "driver.error.gone" } }), "error");
    return;
  } finally {
    button.disabled = false;
  }
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
// Back from the navigation app: the day may have changed meanwhile (a trip given or taken away).
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) loadStops();
});

async function main() {
  const me = await attempt(() => startPage());
  if (!me) return;
  await loadStops();
  feed.connect();
  document.body.dataset.ready = "true";
}

main();
