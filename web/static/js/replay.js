// History and replay of one car over any time range: its track (every fix of the range),
// stops and trips listed beside a player (play / pause, a time slider, speeds 1x-300x) that
// moves a marker along the track, with a small speed-over-time chart whose cursor follows
// the player's time. The track is drawn once; playing moves only the marker (a DOM element)
// and the chart's cursor line, so a car-day of 8,640 fixes plays smoothly.

import { api } from "./api.js";
import { label, onLangChange, t } from "./i18n.js";
import "./labels_console.js";
import { TIME_ZONE, dayRange, esc, todayInZone, zonedToIso } from "./ui.js";

const L = window.L;
/** Items per page of the API (web/pagination.py MAX_PAGE_SIZE). */
const PAGE_SIZE = 200;
/** Pages fetched at once while loading a long track. */
const PARALLEL_PAGES = 6;
/** Most fixes one replay loads: four car-days at 10 s. */
const MAX_FIXES = 4 * 8640;
/** Playback speeds offered, times real time. */
export const SPEEDS = [1, 10, 60, 300];
const DEFAULT_SPEED = 60;
/** Columns of the speed chart: the track is decimated to one (max-speed) value per column. */
const CHART_COLUMNS = 300;
/** A gap between fixes longer than this breaks the chart's line, ms. */
const CHART_GAP_MS = 5 * 60 * 1000;
const CHART_W = 300;
const CHART_H = 70;
/** How far before a range a trip or stop may start and still reach into it, ms: the API
 * bounds their start, so they are asked for from this much earlier and kept when they end
 * inside the range. */
const OVERLAP_MS = 24 * 3600 * 1000;
/** Distance within which a stop is said to be at a named place (depot, parking site), m. */
const PLACE_RADIUS_M = 250;
const TRACK_COLOUR = "#6a1b9a";

const clockFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
const dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE, month: "2-digit", day: "2-digit" });

/** "HH:MM:SS" in the display time zone, from epoch ms. */
function clock(ms) {
  return clockFormat.format(new Date(ms));
}

/** A duration in seconds as "1 h 05 min" / "12 min" (labels of the page's language). */
export function formatDuration(seconds) {
  const minutes = Math.round(Math.max(0, seconds) / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? t("replay.duration.hm", { h, m: String(m).padStart(2, "0") }) : t("replay.duration.m", { m });
}

/** Great-circle distance between two WGS-84 points, m. */
function distanceM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.sqrt(a));
}

/** Every item of a paginated list: the first page says how many, the rest come in parallel. */
export async function fetchAllPages(path, query, maxItems = MAX_FIXES) {
  const first = await api(path, { query: { ...query, limit: PAGE_SIZE, offset: 0 } });
  const total = Math.min(first.total, maxItems);
  const offsets = [];
  for (let offset = PAGE_SIZE; offset < total; offset += PAGE_SIZE) offsets.push(offset);
  const pages = new Array(offsets.length);
  let next = 0;
  const worker = async () => {
    while (next < offsets.length) {
      const i = next++;
      pages[i] = (await api(path, { query: { ...query, limit: PAGE_SIZE, offset: offsets[i] } })).items;
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PAGES, offsets.length) }, worker));
  return { items: first.items.concat(...pages), total: first.total };
}

/** The first index whose time is after `ms` (binary search over sorted times). */
function indexAfter(times, ms) {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Replay {
  /** `map`: the console's Leaflet map; `places()`: [{name, lat, lon}] of named places
   * (depots, parking sites) a stop may be at; `onClose()`: the panel was closed. */
  constructor({ map, places = () => [], onClose = () => {} }) {
    this.map = map;
    this.places = places;
    this.onClose = onClose;
    this.layer = L.featureGroup().addTo(map);
    this.root = null;
    this.range = null; // {vehicleId, plate, day, from, to, since, until, alert}
    this.fixes = [];
    this.times = new Float64Array(0);
    this.trips = [];
    this.stops = [];
    this.nowMs = 0;
    this.speed = DEFAULT_SPEED;
    this.playing = false;
    this._frame = null;
    this._lastTick = 0;
    this.drawMs = null;
    onLangChange(() => this.root && this.render());
  }

  /** Open the panel in `root` for a car: `day` (YYYY-MM-DD, default today) and optional
   * "HH:MM" `from`/`to`, or an explicit `since`/`until` (ISO) span with the `alert` shown
   * ({id, kinds: its alert kinds, startedAt, endedAt: its own span, ISO}). */
  async open(root, { vehicleId, plate, day, from = "", to = "", since = null, until = null, alert = null }) {
    this.stop();
    this.root = root;
    this.range = { vehicleId, plate, day: day || todayInZone(since ? new Date(since) : new Date()), from, to, since, until, alert };
    this.render();
    await this.load();
  }

  /** Leave the replay: the track, marker and player go. */
  close() {
    this.stop();
    this.layer.clearLayers();
    this.root = null;
    this.range = null;
  }

  /** The range's [since, until] as ISO strings. */
  span() {
    const r = this.range;
    if (r.since && r.until) return [r.since, r.until];
    const [dayStart, dayEnd] = dayRange(r.day);
    return [r.from ? zonedToIso(`${r.day}T${r.from}`) : dayStart, r.to ? zonedToIso(`${r.day}T${r.to}`) : dayEnd];
  }

  /** The panel's frame: range form, player, chart and lists (filled by the load). */
  render() {
    const r = this.range;
    const [since, until] = this.span();
    const alertLine = r.alert ? `<p class="replay-alert note" id="replay-alert">${esc(t("replay.alertSpan", {
      id: r.alert.id, kinds: r.alert.kinds.map((k) => label("ak.", k)).join(" · "), from: `${dayFormat.format(new Date(since))} ${clock(Date.parse(since))}`,
      to: `${dayFormat.format(new Date(until))} ${clock(Date.parse(until))}` }))}</p>` : "";
    this.root.innerHTML = `<div class="replay" id="replay">
      <h2>${esc(t("replay.title"))}</h2>
      <p class="plate">${esc(r.plate)}</p>
      ${alertLine}
      <form class="replay-range row wrap" id="replay-range">
        <label>${esc(t("replay.day"))} <input type="date" id="replay-day" max="${todayInZone()}" value="${esc(r.day)}" required></label>
        <label>${esc(t("replay.from"))} <input type="time" id="replay-from" value="${esc(r.from)}"></label>
        <label>${esc(t("replay.to"))} <input type="time" id="replay-to" value="${esc(r.to)}"></label>
        <button type="submit" class="primary" id="replay-load">${esc(t("replay.load"))}</button>
      </form>
      <p class="note" id="replay-note">${esc(t("replay.loading"))}</p>
      <div class="replay-player" id="replay-player" hidden>
        <div class="row">
          <button type="button" id="replay-play" class="primary"></button>
          <b class="replay-time" id="replay-time">–</b>
          <label>${esc(t("replay.speed"))} <select id="replay-speed">${SPEEDS.map((s) =>
            `<option value="${s}"${s === this.speed ? " selected" : ""}>${s}×</option>`).join("")}</select></label>
        </div>
        <input type="range" id="replay-slider" class="replay-slider" min="0" max="1000" step="1" value="0" aria-label="${esc(t("replay.slider"))}">
        <div class="replay-chart" id="replay-chart"></div>
      </div>
      <h3>${esc(t("replay.trips"))}</h3><ul class="list compact replay-list" id="replay-trips"></ul>
      <h3>${esc(t("replay.stops"))}</h3><ul class="list compact replay-list" id="replay-stops"></ul></div>`;
    this.panel = this.root.querySelector("#replay");
    const form = this.root.querySelector("#replay-range");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const day = form.querySelector("#replay-day").value;
      const from = form.querySelector("#replay-from").value;
      const to = form.querySelector("#replay-to").value;
      const note = this.root.querySelector("#replay-note");
      if (!day || day > todayInZone()) {
        note.textContent = t("replay.badDay");
        return;
      }
      if (from && to && to <= from) {
        note.textContent = t("replay.badRange");
        return;
      }
      Object.assign(this.range, { day, from, to, since: null, until: null, alert: null });
      this.render();
      this.load();
    });
    this.root.querySelector("#replay-play").addEventListener("click", () => (this.playing ? this.stop() : this.play()));
    this.root.querySelector("#replay-speed").addEventListener("change", (event) => {
      this.speed = Number(event.target.value);
      this.panel.dataset.speed = String(this.speed);
    });
    this.root.querySelector("#replay-slider").addEventListener("input", (event) => {
      const [startMs, endMs] = this._bounds();
      this.seek(startMs + ((endMs - startMs) * Number(event.target.value)) / 1000);
    });
    this.panel.addEventListener("click", (event) => {
      const item = event.target.closest("[data-replay-trip], [data-replay-stop]");
      if (item) this.focus(item.dataset.replayTrip ? "trip" : "stop", Number(item.dataset.replayTrip || item.dataset.replayStop));
    });
    this.panel.dataset.speed = String(this.speed);
    if (this.fixes.length && this._loadedFor === this._key()) this._showLoaded();
  }

  _key() {
    return `${this.range.vehicleId}|${this.span().join("|")}`;
  }

  /** Fetch the range's fixes (every page), trips and stops, then draw and list them. */
  async load() {
    const key = this._key();
    const [since, until] = this.span();
    const query = { vehicle_id: this.range.vehicleId, since, until };
    const earlier = { ...query, since: new Date(Date.parse(since) - OVERLAP_MS).toISOString() };
    const reaches = (row) => !row.ended_at || Date.parse(row.ended_at) > Date.parse(since);
    this.stop();
    this.layer.clearLayers();
    this.fixes = [];
    this.times = new Float64Array(0);
    try {
      const [fixes, trips, stops] = await Promise.all([
        fetchAllPages("/positions", query), fetchAllPages("/trips", earlier, 2000), fetchAllPages("/stops", earlier, 2000),
      ]);
      if (!this.range || this._key() !== key) return; // another range was asked for meanwhile
      this.fixes = fixes.items;
      this.truncated = fixes.total > fixes.items.length;
      this.trips = trips.items.filter(reaches);
      this.stops = stops.items.filter(reaches);
    } catch (error) {
      if (this.range && this._key() === key) this.root.querySelector("#replay-note").textContent = t("replay.failed", { detail: error.message });
      return;
    }
    this._loadedFor = key;
    this.times = Float64Array.from(this.fixes, (p) => Date.parse(p.ts));
    this.nowMs = this._bounds()[0];
    this.draw();
    this._showLoaded();
  }

  /** The player's time bounds, epoch ms: the range, narrowed to its first and last fix. */
  _bounds() {
    const [since, until] = this.span().map(Date.parse);
    if (!this.times.length) return [since, until];
    const first = Math.max(since, this.times[0]);
    return [first, Math.max(first + 1000, Math.min(until, this.times[this.times.length - 1]))];
  }

  /** Draw the track once (one polyline), the stops and the marker; fit the map to them.
   * The time taken until the next frame is painted lands in `drawMs` and data-draw-ms. */
  draw() {
    const started = performance.now();
    this.layer.clearLayers();
    this.marker = null;
    if (!this.fixes.length) return;
    const latlngs = this.fixes.map((p) => [p.lat, p.lon]);
    this.track = L.polyline(latlngs, { color: TRACK_COLOUR, weight: 3, opacity: 0.8, interactive: false }).addTo(this.layer);
    for (const stop of this.stops) {
      L.circleMarker([stop.lat, stop.lon], { radius: 7, color: "#ef8f00", weight: 2, fillColor: "#fff3e0", fillOpacity: 1 })
        .bindTooltip(`${clock(Date.parse(stop.started_at))}–${clock(Date.parse(stop.ended_at))} · ${formatDuration(stop.duration_s)}`)
        .addTo(this.layer);
    }
    this.marker = L.marker(latlngs[0], {
      icon: L.divIcon({ className: "replay-marker", iconSize: [16, 16], iconAnchor: [8, 8] }),
      interactive: false, keyboard: false, zIndexOffset: 1000,
    }).addTo(this.layer);
    const fit = () => this.map.fitBounds(this.track.getBounds().pad(0.15), { maxZoom: 16, animate: false });
    if (this.map._animatingZoom) this.map.once("zoomend", fit); // a zoom under way would undo the fit
    else fit();
    requestAnimationFrame(() => requestAnimationFrame(() => {
      this.drawMs = Math.round(performance.now() - started);
      if (this.panel && this.panel.isConnected) this.panel.dataset.drawMs = String(this.drawMs);
    }));
  }

  /** Fill the note, the chart and the trip and stop lists from what was loaded. */
  _showLoaded() {
    const note = this.root.querySelector("#replay-note");
    if (!this.fixes.length) {
      note.textContent = t("replay.noFixes");
    } else {
      note.textContent = t(this.truncated ? "replay.fixesCut" : "replay.fixes", { n: this.fixes.length, max: MAX_FIXES,
        from: clock(this.times[0]), to: clock(this.times[this.times.length - 1]) });
    }
    this.root.querySelector("#replay-player").hidden = !this.fixes.length;
    this.root.querySelector("#replay-chart").innerHTML = this._chart();
    this.cursor = this.root.querySelector("#replay-cursor");
    this.root.querySelector("#replay-trips").innerHTML = this.trips.length ? this.trips.map((trip) => {
      const endMs = trip.ended_at ? Date.parse(trip.ended_at) : null;
      const duration = endMs ? ` · ${formatDuration((endMs - Date.parse(trip.started_at)) / 1000)}` : ` · ${t("replay.underWay")}`;
      const order = trip.assignment_id != null ? ` · ${t("replay.order", { id: trip.assignment_id })}` : "";
      return `<li tabindex="0" data-replay-trip="${trip.id}">${clock(Date.parse(trip.started_at))}–${endMs ? clock(endMs) : "…"}
        · ${Number(trip.distance_km).toFixed(1)} km${duration}${esc(order)}</li>`;
    }).join("") : `<li class="note">${esc(t("replay.noTrips"))}</li>`;
    this.root.querySelector("#replay-stops").innerHTML = this.stops.length ? this.stops.map((stop) => {
      const place = this._placeOf(stop);
      return `<li tabindex="0" data-replay-stop="${stop.id}">${clock(Date.parse(stop.started_at))}–${clock(Date.parse(stop.ended_at))}
        · ${esc(formatDuration(stop.duration_s))}${place ? ` · ${esc(place)}` : ""}</li>`;
    }).join("") : `<li class="note">${esc(t("replay.noStops"))}</li>`;
    this._showPlayButton();
    this.seek(this.nowMs || this._bounds()[0]);
  }

  /** The named place nearest a stop, within PLACE_RADIUS_M, or "". */
  _placeOf(stop) {
    let best = "";
    let bestM = PLACE_RADIUS_M;
    for (const place of this.places()) {
      const d = distanceM(stop.lat, stop.lon, place.lat, place.lon);
      if (d <= bestM) {
        best = place.name;
        bestM = d;
      }
    }
    return best;
  }

  /** The speed-over-time chart: the maximum speed of each column's fixes, as an SVG path;
   * a vertical line (the cursor) marks the player's time. */
  _chart() {
    if (!this.fixes.length) return "";
    const [startMs, endMs] = this._bounds();
    const spanMs = Math.max(1, endMs - startMs);
    const columns = new Float32Array(CHART_COLUMNS).fill(-1);
    for (let i = 0; i < this.fixes.length; i += 1) {
      const c = Math.min(CHART_COLUMNS - 1, Math.max(0, Math.floor(((this.times[i] - startMs) / spanMs) * CHART_COLUMNS)));
      columns[c] = Math.max(columns[c], this.fixes[i].speed_kmh || 0);
    }
    const top = Math.max(20, Math.ceil(Math.max(...columns) / 20) * 20);
    const plotH = CHART_H - 14;
    const gapColumns = (CHART_GAP_MS / spanMs) * CHART_COLUMNS;
    let path = "";
    let last = -Infinity;
    for (let c = 0; c < CHART_COLUMNS; c += 1) {
      if (columns[c] < 0) continue;
      const x = ((c + 0.5) * CHART_W) / CHART_COLUMNS;
      const y = 2 + plotH - (plotH * columns[c]) / top;
      path += `${c - last > gapColumns + 1 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
      last = c;
    }
    const alert = this.range.alert;
    const xAt = (ms) => (Math.min(1, Math.max(0, (ms - startMs) / spanMs)) * CHART_W).toFixed(1);
    const alertBand = alert && alert.startedAt ? `<rect class="replay-alert-band" x="${xAt(Date.parse(alert.startedAt))}" y="2"
      width="${Math.max(1, xAt(alert.endedAt ? Date.parse(alert.endedAt) : endMs) - xAt(Date.parse(alert.startedAt)))}"
      height="${plotH}" fill="#ffcdd2"/>` : "";
    return `<svg class="replay-speed-chart" viewBox="0 0 ${CHART_W} ${CHART_H}" role="img" aria-label="${esc(t("replay.chart"))}">
      ${alertBand}<line x1="0" x2="${CHART_W}" y1="${2 + plotH}" y2="${2 + plotH}" stroke="#cfd8dc"/>
      <line x1="0" x2="${CHART_W}" y1="2" y2="2" stroke="#eceff1"/>
      <text x="2" y="11" font-size="9" fill="#5f6b76">${top} km/h</text>
      <text x="2" y="${CHART_H - 1}" font-size="9" fill="#5f6b76">${clock(startMs).slice(0, 5)}</text>
      <text x="${CHART_W - 2}" y="${CHART_H - 1}" font-size="9" fill="#5f6b76" text-anchor="end">${clock(endMs).slice(0, 5)}</text>
      <path d="${path}" fill="none" stroke="#1e63c4" stroke-width="1.2"/>
      <line id="replay-cursor" x1="0" x2="0" y1="0" y2="${2 + plotH}" stroke="#c62828" stroke-width="1.5"/>
    </svg>`;
  }

  /** Put the player at `ms`: the marker between the fixes around it, the slider, the time
   * label and the chart's cursor. */
  seek(ms) {
    if (!this.root || !this.fixes.length) return;
    const [startMs, endMs] = this._bounds();
    this.nowMs = Math.min(endMs, Math.max(startMs, ms));
    const i = indexAfter(this.times, this.nowMs);
    let at;
    if (i === 0) at = this.fixes[0];
    else if (i >= this.fixes.length) at = this.fixes[this.fixes.length - 1];
    else {
      const a = this.fixes[i - 1];
      const b = this.fixes[i];
      const f = (this.nowMs - this.times[i - 1]) / Math.max(1, this.times[i] - this.times[i - 1]);
      at = { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f, speed_kmh: a.speed_kmh };
    }
    if (this.marker) this.marker.setLatLng([at.lat, at.lon]);
    const share = (this.nowMs - startMs) / Math.max(1, endMs - startMs);
    const slider = this.root.querySelector("#replay-slider");
    if (slider && document.activeElement !== slider) slider.value = String(Math.round(share * 1000));
    const label = this.root.querySelector("#replay-time");
    if (label) {
      const day = todayInZone(new Date(startMs)) !== todayInZone(new Date(endMs))
        ? `${dayFormat.format(new Date(this.nowMs))} ` : ""; // a span over midnight says the day
      label.textContent = `${day}${clock(this.nowMs)} · ${Math.round(at.speed_kmh || 0)} km/h`;
      label.dataset.ms = String(Math.round(this.nowMs));
    }
    if (this.cursor) {
      const x = (share * CHART_W).toFixed(1);
      this.cursor.setAttribute("x1", x);
      this.cursor.setAttribute("x2", x);
    }
  }

  play() {
    if (!this.fixes.length || !this.root) return;
    const [, endMs] = this._bounds();
    if (this.nowMs >= endMs) this.seek(this._bounds()[0]);
    this.playing = true;
    this._lastTick = performance.now();
    this._showPlayButton();
    const tick = (now) => {
      if (!this.playing) return;
      this.seek(this.nowMs + (now - this._lastTick) * this.speed);
      this._lastTick = now;
      if (this.nowMs >= this._bounds()[1]) {
        this.stop();
        return;
      }
      this._frame = requestAnimationFrame(tick);
    };
    this._frame = requestAnimationFrame(tick);
  }

  stop() {
    this.playing = false;
    if (this._frame !== null) cancelAnimationFrame(this._frame);
    this._frame = null;
    this._showPlayButton();
  }

  _showPlayButton() {
    const button = this.root?.querySelector("#replay-play");
    if (!button) return;
    button.textContent = t(this.playing ? "replay.pause" : "replay.play");
    button.dataset.playing = String(this.playing);
  }

  /** Fit the map to a trip's fixes (or a stop), and put the player at its start. */
  focus(kind, id) {
    if (kind === "trip") {
      const trip = this.trips.find((x) => x.id === id);
      if (!trip) return;
      const startMs = Date.parse(trip.started_at);
      const endMs = trip.ended_at ? Date.parse(trip.ended_at) : this._bounds()[1];
      const points = this.fixes.filter((p, i) => this.times[i] >= startMs && this.times[i] <= endMs).map((p) => [p.lat, p.lon]);
      if (points.length) this.map.fitBounds(L.latLngBounds(points).pad(0.15), { maxZoom: 16, animate: false });
      this.seek(startMs);
    } else {
      const stop = this.stops.find((x) => x.id === id);
      if (!stop) return;
      this.map.setView([stop.lat, stop.lon], Math.max(this.map.getZoom(), 16), { animate: false });
      this.seek(Date.parse(stop.started_at));
    }
    for (const item of this.root.querySelectorAll(".replay-list li")) {
      item.classList.toggle("selected", item.dataset[kind === "trip" ? "replayTrip" : "replayStop"] === String(id));
    }
  }
}
