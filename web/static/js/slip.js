// The dispatch slip's print page (/slip/{assignment_id}): the slip's facts
// (GET /assignments/{id}/slip) laid out as the paper form, the GPS track drawn small, a print
// button and the PDF in the page's language (GET /assignments/{id}/slip.pdf?language=...).
// A figure not known yet shows "—".

import "./labels_slip.js";
import { api } from "./api.js";
import { lang, onLangChange, t } from "./i18n.js";
import { TIME_ZONE, esc, say, startPage } from "./ui.js";

const EMPTY = "—";
const assignmentId = Number(window.location.pathname.split("/").pop());
let slip = null;

const stampFormatter = new Intl.DateTimeFormat("en-CA", {
  timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  hourCycle: "h23",
});

/** "YYYY-MM-DD HH:MM" in the display time zone, or "—". */
function when(iso) {
  return iso ? stampFormatter.format(new Date(iso)).replace(",", "") : EMPTY;
}

function number(value, digits) {
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const km = (v) => (v === null || v === undefined ? EMPTY : t("slip.km", { v: number(v, 1) }));
const cny = (v) => (v === null || v === undefined ? EMPTY : t("slip.cny", { v: number(v, 2) }));

/** The name of a stored value, never the raw code. */
function named(group, value) {
  if (!value) return "";
  const key = `slip.${group}.${value}`;
  const text = t(key);
  return text === key ? t("slip.other") : text;
}

const joined = (...parts) => parts.filter(Boolean).join(" ") || EMPTY;

function sections(s) {
  const car = s.car;
  const person = (p) => (p ? `${p.name} ${when(p.at)}` : EMPTY);
  return [
    ["slip.sec.request", [
      ["slip.agency", s.agency || EMPTY], ["slip.requester", s.requester || EMPTY],
      ["slip.rider", s.rider || s.requester || EMPTY], ["slip.passengers", t("slip.persons", { n: s.passengers })],
      ["slip.purpose", s.purpose, true],
    ]],
    ["slip.sec.route", [
      ["slip.origin", s.origin_address || s.origin.join(", ")],
      ["slip.destination", s.destination_address || s.destination.join(", ")],
      ["slip.departure_place", s.departure_place || EMPTY],
      ["slip.wait_and_return", t(s.wait_and_return ? "slip.yes" : "slip.no")],
      ["slip.planned_departure", when(s.planned_departure)], ["slip.planned_return", when(s.planned_return)],
      ["slip.actual_departure", when(s.actual_departure)], ["slip.actual_return", when(s.actual_return)],
      ["slip.arrived_at", when(s.arrived_at)],
    ]],
    ["slip.sec.car", [
      ["slip.driver", joined(s.driver, s.driver_phone)], ["slip.plate", car.plate || EMPTY],
      ["slip.car", [named("class", car.vehicle_class), named("energy", car.energy)].filter(Boolean).join(" / ") || EMPTY],
      ["slip.ownership", named("ownership", car.ownership) || EMPTY],
      ["slip.lessor", joined(car.lessor, car.lessor_phone)],
    ]],
    ["slip.sec.mileage", [
      ["slip.start_odometer", km(s.start_odometer_km)], ["slip.end_odometer", km(s.end_odometer_km)],
      ["slip.odometer_distance", km(s.odometer_distance_km)], ["slip.gps_distance", km(s.gps_distance_km)],
      ["slip.tolls", cny(s.tolls_cny)], ["slip.parking", cny(s.parking_cny)], ["slip.cost", cny(s.cost_cny)],
    ]],
    ["slip.sec.approval", [
      ["slip.approver", person(s.approver)], ["slip.dispatcher", person(s.dispatcher)],
      ["slip.problems", s.problems.filter(Boolean).join(lang() === "zh" ? "；" : "; ") || EMPTY, true],
    ]],
  ];
}

/** The track as an SVG polyline, north up at one scale (the PDF draws it the same way). */
function trackSvg(track) {
  if (!track || track.length < 2) return "";
  const lats = track.map((p) => p[0]);
  const lons = track.map((p) => p[1]);
  const kx = Math.cos((lats.reduce((a, b) => a + b, 0) / lats.length) * Math.PI / 180);
  const w = 600, h = 160, pad = 12;
  const spanX = Math.max((Math.max(...lons) - Math.min(...lons)) * kx, 1e-4);
  const spanY = Math.max(Math.max(...lats) - Math.min(...lats), 1e-4);
  const scale = Math.min((w - 2 * pad) / spanX, (h - 2 * pad) / spanY);
  const cx = (Math.max(...lons) + Math.min(...lons)) / 2, cy = (Math.max(...lats) + Math.min(...lats)) / 2;
  const xy = track.map(([lat, lon]) => [w / 2 + (lon - cx) * kx * scale, h / 2 - (lat - cy) * scale]);
  const points = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const [sx, sy] = xy[0], [ex, ey] = xy[xy.length - 1];
  return `<svg class="slip-track" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(t("slip.sec.track"))}">
    <polyline points="${points}" fill="none" stroke="#1f5fbf" stroke-width="2.5"/>
    <circle cx="${sx}" cy="${sy}" r="4" fill="#2e7d32"/><circle cx="${ex}" cy="${ey}" r="4" fill="#c0392b"/></svg>`;
}

function box(label, value) {
  return `<th scope="row">${esc(t(label))}</th><td>${esc(value)}</td>`;
}

function sectionHtml(title, rows) {
  const lines = [];
  let pending = [];
  const flush = () => {
    if (!pending.length) return;
    const cells = pending.map(([l, v]) => box(l, v)).join("");
    lines.push(`<tr>${cells}${pending.length === 1 ? "<th></th><td></td>" : ""}</tr>`);
    pending = [];
  };
  for (const [label, value, wide] of rows) {
    if (wide) {
      flush();
      lines.push(`<tr>${box(label, value).replace("<td>", '<td colspan="3">')}</tr>`);
      continue;
    }
    pending.push([label, value]);
    if (pending.length === 2) flush();
  }
  flush();
  return `<tbody><tr class="slip-section"><th colspan="4">${esc(t(title))}</th></tr>${lines.join("")}</tbody>`;
}

function draw() {
  const form = document.getElementById("slip-form");
  const s = slip;
  const route = s.route && s.route.trips.length
    ? t("slip.track.summary", { trips: s.route.trips.length, km: number(s.route.distance_km, 1), points: s.route.positions })
    : t("slip.track.none");
  form.innerHTML = `
    <h1>${esc(t("slip.title"))}</h1>
    <div class="slip-heading"><span>${esc(t("slip.number", { id: s.assignment_id, request: s.request_id }))}</span>
      <span>${esc(t("slip.state"))}: <strong id="slip-state">${esc(named("request", s.request_state))}</strong></span></div>
    <table class="slip-table">
      <colgroup><col class="slip-label"><col><col class="slip-label"><col></colgroup>
      ${sections(s).map(([title, rows]) => sectionHtml(title, rows)).join("")}
      ${sectionHtml("slip.sec.track", [["slip.route", route, true]])}
    </table>
    ${trackSvg(s.route && s.route.track)}
    <div class="slip-signatures"><span>${esc(t("slip.sign.driver"))}:</span><span>${esc(t("slip.sign.rider"))}:</span></div>
    <p class="note slip-tz">${esc(t("slip.tz", { tz: TIME_ZONE }))}</p>`;
  document.getElementById("slip-pdf").href = `/api/v1/assignments/${assignmentId}/slip.pdf?language=${lang()}`;
  document.title = `${t("slip.title")} ${s.assignment_id}`;
}

async function main() {
  await startPage();
  document.getElementById("slip-print").addEventListener("click", () => window.print());
  document.getElementById("slip-pdf").href = `/api/v1/assignments/${assignmentId}/slip.pdf?language=${lang()}`;
  try {
    slip = await api(`/assignments/${assignmentId}/slip`);
  } catch (error) {
    say(error.message, "error");
    document.body.dataset.ready = "true";
    return;
  }
  draw();
  onLangChange(draw);
  document.body.dataset.ready = "true";
}

main();
