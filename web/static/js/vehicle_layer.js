// All cars drawn on one canvas (no DOM element per car), so 2,000 cars pan and update
// smoothly. Colour = state (moving, parked, parked with engine on, offline); shape =
// ownership (circle: pool car, diamond: leased car). Plates (from zoom 15, the selected
// car's at any zoom) never overlap: a label whose box would touch one already placed is
// left out, the selected car's placed first; the car on top of a stack says how many
// more stand under it ("+3").

const L = window.L;

/** Seconds without a fix after which a car counts as offline. */
export const OFFLINE_AFTER_S = 600;
/** Speed at or above which a car counts as moving, km/h. */
export const MOVING_KMH = 5;
export const STATE_COLOURS = { moving: "#2e7d32", parked: "#1e63c4", idling: "#ef8f00", offline: "#8d949b" };
/** Zoom from which every car's plate may be shown (the selected car's always is). */
export const PLATE_ZOOM = 15;
/** Side of a cell of the label grid, px: a label is checked only against those in its cells. */
const LABEL_CELL_PX = 48;
/** Label text height and padding, px. */
const LABEL_H_PX = 14;
const LABEL_PAD_PX = 2;

/** moving | parked | idling (parked, engine on) | offline, from a car's last fix. */
export function carState(car, nowMs = Date.now()) {
  if (!car.ts || car.lat === null || car.lat === undefined) return "offline";
  if (nowMs - Date.parse(car.ts) > OFFLINE_AFTER_S * 1000) return "offline";
  if ((car.speed_kmh || 0) >= MOVING_KMH) return "moving";
  return car.ignition ? "idling" : "parked";
}

export const VehicleLayer = L.Layer.extend({
  initialize(options = {}) {
    L.setOptions(this, options);
    this.cars = new Map();
    this._frame = null;
    this.drawn = 0;
  },

  onAdd(map) {
    this._canvas = L.DomUtil.create("canvas", "vehicle-canvas leaflet-zoom-hide");
    const pane = map.getPane("vehicles") || map.createPane("vehicles");
    pane.style.zIndex = 450; // above the GeoJSON layers (400), below tooltips and popups
    pane.appendChild(this._canvas);
    map.on("moveend zoomend resize viewreset", this._reset, this);
    L.DomEvent.on(map.getContainer(), "click", this._click, this);
    this._timer = setInterval(() => this.redraw(), 30000); // cars go offline as time passes
    this._reset();
  },

  onRemove(map) {
    map.off("moveend zoomend resize viewreset", this._reset, this);
    L.DomEvent.off(map.getContainer(), "click", this._click, this);
    clearInterval(this._timer);
    this._canvas.remove();
  },

  /** Replace every car (the initial load): features of GET /api/v1/map/vehicles. */
  load(features) {
    this.cars.clear();
    for (const f of features) {
      const p = f.properties;
      const [lon, lat] = f.geometry ? f.geometry.coordinates : [null, null];
      this.cars.set(p.vehicle_id, { ...p, lat, lon });
    }
    this.redraw();
  },

  /** Move cars from live position events (unknown cars are added). */
  update(items) {
    for (const item of items) {
      const car = this.cars.get(item.vehicle_id) || { vehicle_id: item.vehicle_id, ownership: "pool" };
      this.cars.set(item.vehicle_id, { ...car, ...item });
    }
    this.redraw();
  },

  redraw() {
    if (this._frame === null && this._map) this._frame = L.Util.requestAnimFrame(this._draw, this);
  },

  _reset() {
    const map = this._map;
    const size = map.getSize();
    const ratio = window.devicePixelRatio || 1;
    L.DomUtil.setPosition(this._canvas, map.containerPointToLayerPoint([0, 0]));
    this._canvas.width = size.x * ratio;
    this._canvas.height = size.y * ratio;
    this._canvas.style.width = `${size.x}px`;
    this._canvas.style.height = `${size.y}px`;
    this._frame = null;
    this._draw();
  },

  _draw() {
    this._frame = null;
    const map = this._map;
    if (!map) return;
    const ctx = this._canvas.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
    const origin = map.containerPointToLayerPoint([0, 0]);
    const now = Date.now();
    const radius = map.getZoom() >= 13 ? 6 : 4;
    ctx.lineWidth = 1.5;
    let drawn = 0;
    let selected = null;
    const byState = { moving: 0, parked: 0, idling: 0, offline: 0 };
    for (const car of this.cars.values()) {
      const state = carState(car, now);
      byState[state] += 1;
      car._state = state;
      if (car.lat === null || car.lat === undefined) {
        car._x = undefined;
        continue;
      }
      const p = map.latLngToLayerPoint([car.lat, car.lon]).subtract(origin);
      car._x = p.x;
      car._y = p.y;
      drawn += 1;
      if (this._selected === car.vehicle_id) selected = car;
      else this._marker(ctx, car, radius);
    }
    if (selected) {
      this._marker(ctx, selected, radius + 2); // on top of a stack, larger, ringed
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = "#000";
      ctx.beginPath();
      ctx.arc(selected._x, selected._y, radius + 7, 0, Math.PI * 2);
      ctx.stroke();
      ctx.lineWidth = 1.5;
    }
    this.labels = this._placeLabels(ctx, radius, selected);
    this.drawn = drawn;
    const box = map.getContainer();
    box.dataset.carsDrawn = String(drawn);
    box.dataset.carsTotal = String(this.cars.size);
    box.dataset.labelsShown = String(this.labels.length);
    if (this.options.onDraw) this.options.onDraw(byState, this.cars.size);
  },

  /** One car's marker: colour by state, circle (pool) or diamond (leased). */
  _marker(ctx, car, radius) {
    ctx.fillStyle = STATE_COLOURS[car._state];
    ctx.strokeStyle = car.ownership === "leased" ? "#4a148c" : "#ffffff";
    ctx.beginPath();
    if (car.ownership === "leased") {
      const r = radius + 1;
      ctx.moveTo(car._x, car._y - r);
      ctx.lineTo(car._x + r, car._y);
      ctx.lineTo(car._x, car._y + r);
      ctx.lineTo(car._x - r, car._y);
      ctx.closePath();
    } else {
      ctx.arc(car._x, car._y, radius, 0, Math.PI * 2);
    }
    ctx.fill();
    ctx.stroke();
  },

  /** Place and draw plates that overlap nothing placed before them (the selected car's
   * first, at any zoom); a label keeps count of the cars whose plates it hid ("+n").
   * Returns the drawn labels' boxes in container pixels: [{vehicle_id, plate, x, y, w, h}]. */
  _placeLabels(ctx, radius, selected) {
    const map = this._map;
    const size = map.getSize();
    const showAll = map.getZoom() >= PLATE_ZOOM;
    const others = [];
    if (showAll) {
      for (const car of this.cars.values()) {
        if (car !== selected && car.plate && car._x !== undefined && car._x > -80 && car._y > -20 &&
            car._x < size.x + 20 && car._y < size.y + 20) others.push(car);
      }
    }
    // the car drawn last (on top of a stack) names the stack
    const candidates = [...(selected && selected.plate ? [selected] : []), ...others.reverse()];
    ctx.font = "11px sans-serif";
    const grid = new Map();
    const placed = [];
    const cellsOf = (b) => {
      const keys = [];
      for (let cx = Math.floor(b.x / LABEL_CELL_PX); cx <= Math.floor((b.x + b.w) / LABEL_CELL_PX); cx += 1) {
        for (let cy = Math.floor(b.y / LABEL_CELL_PX); cy <= Math.floor((b.y + b.h) / LABEL_CELL_PX); cy += 1) keys.push(`${cx},${cy}`);
      }
      return keys;
    };
    const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    for (const car of candidates) {
      const r = car === selected ? radius + 7 : radius;
      const box = { vehicle_id: car.vehicle_id, plate: car.plate, x: car._x + r + 3, y: car._y - LABEL_H_PX / 2,
        w: this._textWidth(ctx, car.plate) + 2 * LABEL_PAD_PX, h: LABEL_H_PX, hidden: 0 };
      const keys = cellsOf(box);
      const blocker = keys.flatMap((k) => grid.get(k) || []).find((other) => overlaps(box, other));
      if (blocker) {
        blocker.hidden += 1;
        continue;
      }
      placed.push(box);
      for (const k of keys) (grid.get(k) || grid.set(k, []).get(k)).push(box);
    }
    for (const box of placed) {
      // "+n" where it fits beside the plate; the box grows to hold it
      if (!box.hidden) continue;
      const more = { x: box.x + box.w, y: box.y, w: this._textWidth(ctx, `+${box.hidden}`) + 2 * LABEL_PAD_PX, h: box.h };
      const keys = cellsOf(more);
      if (keys.flatMap((k) => grid.get(k) || []).some((other) => other !== box && overlaps(more, other))) continue;
      box.more = `+${box.hidden}`;
      box.w += more.w;
      for (const k of keys) (grid.get(k) || grid.set(k, []).get(k)).push(box);
    }
    for (const box of placed) {
      const selectedBox = selected && box.vehicle_id === selected.vehicle_id;
      ctx.fillStyle = selectedBox ? "#000000" : "rgba(255,255,255,0.88)";
      ctx.fillRect(box.x, box.y, box.w, box.h);
      ctx.fillStyle = selectedBox ? "#ffffff" : "#212121";
      ctx.fillText(box.plate, box.x + LABEL_PAD_PX, box.y + LABEL_H_PX - 3);
      if (box.more) {
        ctx.fillStyle = selectedBox ? "#cfd8dc" : "#5f6b76";
        ctx.fillText(box.more, box.x + this._textWidth(ctx, box.plate) + 3 * LABEL_PAD_PX, box.y + LABEL_H_PX - 3);
      }
    }
    return placed;
  },

  _textWidth(ctx, text) {
    if (!this._widths) this._widths = new Map();
    let width = this._widths.get(text);
    if (width === undefined) {
      width = Math.ceil(ctx.measureText(text).width);
      this._widths.set(text, width);
    }
    return width;
  },

  select(vehicleId) {
    this._selected = vehicleId;
    this.redraw();
  },

  /** The car drawn nearest a container point, within `tolerance` pixels. */
  carAt(point, tolerance = 10) {
    let best = null;
    let bestD = tolerance * tolerance;
    for (const car of this.cars.values()) {
      if (car._x === undefined || car.lat === null) continue;
      const d = (car._x - point.x) ** 2 + (car._y - point.y) ** 2;
      if (d <= bestD) {
        best = car;
        bestD = d;
      }
    }
    return best;
  },

  _click(event) {
    if (this._map.dragging && this._map.dragging.moved()) return;
    const car = this.carAt(this._map.mouseEventToContainerPoint(event));
    if (car && this.options.onSelect) this.options.onSelect(car);
  },
});
