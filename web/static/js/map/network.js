// The river network drawn as the base map: jurisdictions, reaches, stations, fetched from
// /web/api/layers simplified for the zoom level (no tiles at all). Everything vector shares one
// canvas: a canvas only hears the mouse for its own shapes, and the topmost canvas would take
// every event. Order on the canvas is order of adding: jurisdictions (counties below enclaves),
// reaches, the incident's path, stations.
import * as L from "/static/vendor/leaflet/leaflet-src.esm.js";
import { jurisdictionStyle, kindGroup, reachStyle, STATION_STYLE } from "./style.js";

const ENCLAVES_LAST = (a, b) =>
  Number(kindGroup(a.properties.kind) !== "county") - Number(kindGroup(b.properties.kind) !== "county");

async function fetchLayer(name, zoom) {
  const response = await fetch(`/web/api/layers/${name}?zoom=${zoom}`);
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  return response.json();
}

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}

export class NetworkLayers {
  constructor(map, { tooltips, onReachClick }) {
    this.map = map;
    this.tooltips = tooltips;
    this.onReachClick = onReachClick;
    this.renderer = L.canvas({ padding: 0.3, tolerance: 4 });
    this.groups = {};
    this.jurisdictions = new Map(); // id -> polygon layer
    this.reaches = new Map(); // id -> polyline layer
    this.stations = new Map(); // id -> circle marker
    this.loadedZoom = null;
    this.listeners = [];
    map.on("zoomend", () => this.maybeReload());
  }

  /** Called after every (re)draw, so overlays can restyle the new layers. */
  onDraw(fn) {
    this.listeners.push(fn);
  }

  async load(zoom) {
    const z = Math.max(3, Math.min(14, Math.round(zoom)));
    const [jurisdictions, reaches, stations] = await Promise.all(
      ["jurisdictions", "reaches", "stations"].map((name) => fetchLayer(name, z)),
    );
    this.draw({ jurisdictions, reaches, stations });
    this.loadedZoom = z;
    await nextFrame();
    for (const fn of this.listeners) fn();
    return reaches.features.length;
  }

  maybeReload() {
    const z = Math.round(this.map.getZoom());
    if (this.loadedZoom === null || this.reloading) return;
    if (z > this.loadedZoom || z < this.loadedZoom - 2) {
      this.reloading = true;
      this.load(z).finally(() => {
        this.reloading = false;
      });
    }
  }

  replace(name, group) {
    if (this.groups[name]) this.map.removeLayer(this.groups[name]);
    this.groups[name] = group.addTo(this.map);
  }

  /** Keep stations above whatever was drawn after them (the path). */
  stationsOnTop() {
    this.groups.stations?.bringToFront();
  }

  draw({ jurisdictions, reaches, stations }) {
    for (const group of Object.values(this.groups)) this.map.removeLayer(group);
    this.groups = {};
    jurisdictions.features.sort(ENCLAVES_LAST);
    this.jurisdictions = new Map();
    this.replace(
      "jurisdictions",
      L.geoJSON(jurisdictions, {
        renderer: this.renderer,
        style: (f) => jurisdictionStyle(f.properties.kind),
        onEachFeature: (f, layer) => this.jurisdictions.set(f.properties.jurisdiction_id, layer),
      }).bindTooltip((layer) => this.tooltips.jurisdiction(layer.feature.properties), {
        sticky: true,
      }),
    );
    this.reaches = new Map();
    const reachGroup = L.geoJSON(reaches, {
      renderer: this.renderer,
      style: (f) => reachStyle(f.properties),
      onEachFeature: (f, layer) => this.reaches.set(f.properties.reach_id, layer),
    }).bindTooltip((layer) => this.tooltips.reach(layer.feature.properties), { sticky: true });
    reachGroup.on("click", (event) => this.onReachClick(event.layer.feature.properties));
    this.replace("reaches", reachGroup);
    this.stations = new Map();
    this.replace(
      "stations",
      L.geoJSON(stations, {
        pointToLayer: (f, latlng) =>
          L.circleMarker(latlng, { ...STATION_STYLE, renderer: this.renderer }),
        onEachFeature: (f, layer) => this.stations.set(f.properties.station_id, layer),
      }).bindTooltip((layer) => this.tooltips.station(layer.feature.properties)),
    );
  }

  /** A point for a reach: the middle vertex of its line. */
  reachMiddle(reachId) {
    const layer = this.reaches.get(reachId);
    if (!layer) return null;
    let points = layer.getLatLngs();
    while (Array.isArray(points[0])) points = points.flat();
    return points.length ? points[Math.floor(points.length / 2)] : null;
  }
}
