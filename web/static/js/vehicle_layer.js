// All cars drawn on one canvas (no DOM element per car), so 2,000 cars pan and update
// smoothly. Colour = state (moving, parked, parked with engine on, offline); shape =
// ownership (circle: pool car, diamond: leased car).

const L = window.L;

/** Seconds without a fix after which a car counts as offline. */
export const OFFLINE_AFTER_S = 600;
/** Speed at or above which a car counts as moving, km/h. */
export const MOVING_KMH = 5;
export const STATE_COLOURS = { moving: "#2e7d32", parked: "#1e63c4", idling: "#ef8f00", offline: "#8d949b" };

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
    const showPlates = map.getZoom() >= 15;
    const radius = map.getZoom() >= 13 ? 6 : 4;
    ctx.lineWidth = 1.5;
    ctx.font = "11px sans-serif";
    let drawn = 0;
    const byState = { moving: 0, parked: 0, idling: 0, offline: 0 };
    for (const car of this.cars.values()) {
      if (car.lat === null || car.lat === undefined) {
        byState.offline += 1;
        continue;
      }
      const state = carState(car, now);
      byState[state] += 1;
      const p = map.latLngToLayerPoint([car.lat, car.lon]).subtract(origin);
      car._x = p.x;
      car._y = p.y;
      drawn += 1;
      ctx.fillStyle = STATE_COLOURS[state];
      ctx.strokeStyle = car.ownership === "leased" ? "#4a148c" : "#ffffff";
      ctx.beginPath();
      if (car.ownership === "leased") {
        const r = radius + 1;
        ctx.moveTo(p.x, p.y - r);
        ctx.lineTo(p.x + r, p.y);
        ctx.lineTo(p.x, p.y + r);
        ctx.lineTo(p.x - r, p.y);
        ctx.closePath();
      } else {
        ctx.arc(p.x, p.y, radius, 0, Math.PI * 2);
      }
      ctx.fill();
      ctx.stroke();
      if (this._selected === car.vehicle_id) {
        ctx.strokeStyle = "#000";
        ctx.beginPath();
        ctx.arc(p.x, p.y, radius + 4, 0, Math.PI * 2);
        ctx.stroke();
      }
      if (showPlates && car.plate) {
        ctx.fillStyle = "#212121";
        ctx.fillText(car.plate, p.x + radius + 3, p.y + 4);
      }
    }
    this.drawn = drawn;
    const box = map.getContainer();
    box.dataset.carsDrawn = String(drawn);
    box.dataset.carsTotal = String(this.cars.size);
    if (this.options.onDraw) this.options.onDraw(byState, this.cars.size);
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
