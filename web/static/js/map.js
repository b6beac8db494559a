// The base map: Leaflet with the configured tile URL (none: GeoJSON layers only, works
// offline) and the depots, parking sites and zones of the user's scope.

import { api } from "./api.js";
import { t } from "./i18n.js";
import { config, esc } from "./ui.js";

const L = window.L;
export const CITY_CENTRE = [34.6, 119.22]; // Lianyungang
const ZONE_STYLE = {
  forbidden_venue: { color: "#c62828", weight: 1, fillOpacity: 0.25 },
  allowed_area: { color: "#546e7a", weight: 2, dashArray: "6 4", fill: false },
};

/** A Leaflet map in element `id`; base tiles only when FLEET_WEB_TILE_URL is set. */
export function createMap(id, { zoom = 11, center = CITY_CENTRE } = {}) {
  const map = L.map(id, { preferCanvas: true, zoomControl: true, minZoom: 3, maxZoom: 18, attributionControl: Boolean(config.tileUrl) });
  map.setView(center, zoom);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { maxZoom: 18, subdomains: "01234567" }).addTo(map);
  } else {
    map.getContainer().classList.add("no-tiles");
  }
  return map;
}

/** Add depots, parking sites and zones; returns {name: layer} for a layer control. */
export async function addPlaceLayers(map) {
  const [depots, sites, zones] = await Promise.all([
    api("/map/depots"), api("/map/parking-sites"), api("/map/zones"),
  ]);
  const zoneLayer = L.geoJSON(zones, {
    style: (f) => ZONE_STYLE[f.properties.kind] || ZONE_STYLE.allowed_area,
    onEachFeature: (f, layer) => layer.bindTooltip(esc(f.properties.name)),
    interactive: true,
  }).addTo(map);
  const siteLayer = L.geoJSON(sites, {
    style: { color: "#1565c0", weight: 1, fillOpacity: 0.15 },
    onEachFeature: (f, layer) => layer.bindTooltip(esc(f.properties.name)),
  }).addTo(map);
  const depotLayer = L.geoJSON(depots, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 5, color: "#37474f", weight: 1.5, fillColor: "#fff", fillOpacity: 0.9 }),
    onEachFeature: (f, layer) => layer.bindTooltip(esc(f.properties.name)),
  }).addTo(map);
  const bounds = L.featureGroup([zoneLayer, siteLayer, depotLayer]).getBounds();
  return { layers: { depots: depotLayer, sites: siteLayer, zones: zoneLayer }, bounds };
}

export function layerControl(map, layers) {
  const named = {};
  for (const [key, layer] of Object.entries(layers)) named[t(`layer.${key}`)] = layer;
  return L.control.layers(null, named, { collapsed: true }).addTo(map);
}
