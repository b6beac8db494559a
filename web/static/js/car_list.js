// The console's car list beside the map: every car in the user's scope with its live state,
// searched by plate, driver or agency and filtered by ownership, state and agency. Rows are
// built once; live changes touch only the rows whose state changed (at most once a second),
// and filtering only shows or hides rows.

import { apiAll } from "./api.js";
import { onLangChange, t } from "./i18n.js";
import "./labels_console.js";
import { esc } from "./ui.js";
import { carState } from "./vehicle_layer.js";

export const STATES = ["moving", "parked", "idling", "offline"];
/** Shortest pause between two live refreshes of the list, ms. */
const REFRESH_MS = 1000;

/** Plate, driver or agency text folded for search: lower case, no spaces or dots. */
function fold(text) {
  return String(text || "").toLowerCase().replace(/[\s·.\-]/g, "");
}

export class CarList {
  /** `layer`: the map's VehicleLayer (positions, states); `driverOf(id)`: the name of the
   * car's driver today or ""; `onPick(id)`: a car was clicked in the list. */
  constructor({ layer, driverOf = () => "", onPick = () => {} }) {
    this.layer = layer;
    this.driverOf = driverOf;
    this.onPick = onPick;
    this.vehicles = new Map(); // id -> {id, plate, org_id, ownership, ...} of GET /vehicles
    this.agencies = new Map(); // org id -> name
    this.rows = new Map(); // id -> <li>
    this.selected = null;
    this._timer = null;
    this._last = 0;
    this.list = document.getElementById("car-list");
    this.search = document.getElementById("car-search");
    this.ownership = document.getElementById("car-own");
    this.stateFilter = document.getElementById("car-state");
    this.agency = document.getElementById("car-agency");
    for (const input of [this.search, this.ownership, this.stateFilter, this.agency]) {
      input.addEventListener("input", () => this.filter());
    }
    this.list.addEventListener("click", (event) => {
      const row = event.target.closest("[data-vehicle-id]");
      if (row) this.onPick(Number(row.dataset.vehicleId));
    });
    this.list.addEventListener("keydown", (event) => {
      const row = event.target.closest("[data-vehicle-id]");
      if (row && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.onPick(Number(row.dataset.vehicleId));
      }
    });
    for (const chip of document.querySelectorAll("[data-car-count]")) {
      chip.addEventListener("click", () => {
        this.stateFilter.value = this.stateFilter.value === chip.dataset.carCount ? "" : chip.dataset.carCount;
        this.filter();
      });
    }
    onLangChange(() => this.render());
    setInterval(() => this.changed(), 30000); // cars go offline as time passes
  }

  /** Every car in scope (GET /vehicles, all pages) and the agencies' names; the map's cars
   * stand in when the list cannot be read (the note says why). */
  async load() {
    const note = document.getElementById("car-note");
    const [vehicles, orgs] = await Promise.allSettled([apiAll("/vehicles", {}, 5000), apiAll("/organisations", {}, 5000)]);
    if (orgs.status === "fulfilled") for (const o of orgs.value) this.agencies.set(o.id, o.name);
    if (vehicles.status === "fulfilled") {
      for (const v of vehicles.value) this.vehicles.set(v.id, v);
    } else {
      for (const c of this.layer.cars.values()) this.vehicles.set(c.vehicle_id, { id: c.vehicle_id, plate: c.plate, org_id: c.org_id, ownership: c.ownership });
    }
    const failed = [vehicles, orgs].find((r) => r.status === "rejected");
    note.textContent = failed ? t("cars.unavailable", { detail: failed.reason.message }) : "";
    note.hidden = !failed;
    this.render();
  }

  /** Rebuild every row (first load, language switch), then filter. */
  render() {
    const agency = this.agency.value;
    const used = [...new Set([...this.vehicles.values()].map((v) => v.org_id))]
      .map((id) => [id, this.agencies.get(id) || `#${id}`]).sort((a, b) => a[1].localeCompare(b[1], "zh"));
    this.agency.innerHTML = `<option value="">${esc(t("cars.agency.all"))}</option>` +
      used.map(([id, name]) => `<option value="${id}">${esc(name)}</option>`).join("");
    this.agency.value = used.some(([id]) => String(id) === agency) ? agency : "";
    const sorted = [...this.vehicles.values()].sort((a, b) => (a.plate || "").localeCompare(b.plate || ""));
    const fragment = document.createDocumentFragment();
    this.rows.clear();
    for (const v of sorted) {
      const row = document.createElement("li");
      row.className = "car-row";
      row.tabIndex = 0;
      row.dataset.vehicleId = String(v.id);
      row.dataset.ownership = v.ownership === "leased" ? "leased" : "pool";
      row.dataset.orgId = String(v.org_id);
      row.innerHTML = `<span class="car-plate">${esc(v.plate)}</span> <span class="badge car-state"></span>
        <span class="badge car-own ${row.dataset.ownership}">${esc(t(row.dataset.ownership === "leased" ? "own.leased" : "own.pool"))}</span>
        <div class="sub"><span class="car-agency">${esc(this.agencies.get(v.org_id) || "")}</span><span class="car-driver"></span></div>`;
      this.rows.set(v.id, row);
      fragment.appendChild(row);
    }
    this.list.replaceChildren(fragment);
    this.rows.get(this.selected)?.classList.add("selected");
    this.refresh();
  }

  /** Live states changed (a positions message): refresh now, or once the second is up. */
  changed() {
    if (this._timer !== null) return;
    const wait = Math.max(0, this._last + REFRESH_MS - Date.now());
    this._timer = setTimeout(() => {
      this._timer = null;
      this.refresh();
    }, wait);
  }

  /** Bring each row's state and driver up to date (only the rows that changed), then filter. */
  refresh() {
    this._last = Date.now();
    const now = Date.now();
    for (const [id, row] of this.rows) {
      const car = this.layer.cars.get(id) || {};
      const state = carState(car, now);
      if (row.dataset.state !== state) {
        row.dataset.state = state;
        const badge = row.querySelector(".car-state");
        badge.className = `badge car-state ${state}`;
        badge.textContent = t(`state.${state}`);
        row.classList.toggle("no-fix", car.lat === null || car.lat === undefined);
      }
      const driver = this.driverOf(id) || "";
      if (row.dataset.driver !== driver) {
        row.dataset.driver = driver;
        row.querySelector(".car-driver").textContent = driver ? ` · ${t("cars.driver", { name: driver })}` : "";
      }
    }
    this.filter();
  }

  /** Show the rows that match the search and filters; count them per state. */
  filter() {
    const words = fold(this.search.value);
    const ownership = this.ownership.value;
    const state = this.stateFilter.value;
    const agency = this.agency.value;
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    let shown = 0;
    for (const [id, row] of this.rows) {
      const v = this.vehicles.get(id);
      counts[row.dataset.state] += 1;
      const text = fold(`${v.plate}|${row.dataset.driver}|${this.agencies.get(v.org_id) || ""}`);
      const visible = (!words || text.includes(words)) && (!ownership || row.dataset.ownership === ownership) &&
        (!state || row.dataset.state === state) && (!agency || row.dataset.orgId === agency);
      row.hidden = !visible;
      if (visible) shown += 1;
    }
    for (const s of STATES) {
      const chip = document.querySelector(`[data-car-count="${s}"]`);
      chip.querySelector("b").textContent = counts[s];
      chip.classList.toggle("active", state === s);
    }
    const summary = document.getElementById("car-shown");
    summary.textContent = shown ? t("cars.shown", { n: shown, total: this.rows.size }) : t("cars.empty");
    summary.dataset.shown = String(shown);
  }

  /** Mark the selected car's row (null: none) and bring it into view. */
  select(vehicleId) {
    if (this.selected !== null) this.rows.get(this.selected)?.classList.remove("selected");
    this.selected = vehicleId;
    const row = vehicleId === null ? null : this.rows.get(vehicleId);
    if (row) {
      row.classList.add("selected");
      if (!row.hidden) row.scrollIntoView({ block: "nearest" });
    }
  }
}
