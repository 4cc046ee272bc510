// The selected incident on the map: the traced path, the origin marker and every notified
// jurisdiction filled with its notice status (its estimated arrival in the tooltip).
import * as L from "/static/vendor/leaflet/leaflet-src.esm.js";
import { t } from "../i18n.js";
import { jurisdictionStyle, notifiedStyle, ORIGIN_JURISDICTION, PATH_STYLE } from "./style.js";

export class IncidentOverlay {
  constructor(map, network) {
    this.map = map;
    this.network = network;
    this.detail = null;
    this.pathGroup = L.featureGroup().addTo(map);
    this.origin = null;
    this.styled = new Set();
    network.onDraw(() => this.draw());
  }

  /** The notice per jurisdiction (the strongest status if there are several). */
  noticesByJurisdiction() {
    const out = new Map();
    for (const notice of this.detail?.notice_list || []) out.set(notice.jurisdiction_id, notice);
    return out;
  }

  statusOf(jurisdictionId) {
    return this.noticesByJurisdiction().get(jurisdictionId)?.status || null;
  }

  show(detail) {
    this.detail = detail;
    this.draw();
  }

  clear() {
    this.show(null);
  }

  draw() {
    this.restyleJurisdictions();
    this.drawPath();
    this.drawOrigin();
  }

  restyleJurisdictions() {
    const notices = this.noticesByJurisdiction();
    const originId = this.detail?.origin_jurisdiction_id;
    for (const id of this.styled) {
      const layer = this.network.jurisdictions.get(id);
      if (layer && !notices.has(id) && id !== originId) {
        layer.setStyle(jurisdictionStyle(layer.feature.properties.kind));
      }
    }
    this.styled = new Set();
    for (const [id, notice] of notices) {
      const layer = this.network.jurisdictions.get(id);
      if (!layer) continue;
      layer.setStyle(notifiedStyle(layer.feature.properties.kind, notice.status));
      this.styled.add(id);
    }
    const origin = originId ? this.network.jurisdictions.get(originId) : null;
    if (origin) {
      origin.setStyle({ ...(notices.has(originId) ? {} : jurisdictionStyle(origin.feature.properties.kind)), ...ORIGIN_JURISDICTION });
      this.styled.add(originId);
    }
  }

  drawPath() {
    this.pathGroup.clearLayers();
    for (const reachId of this.detail?.affected_reaches || []) {
      const reach = this.network.reaches.get(reachId);
      if (!reach) continue;
      L.polyline(reach.getLatLngs(), {
        ...PATH_STYLE,
        renderer: this.network.renderer,
        interactive: false,
      }).addTo(this.pathGroup);
    }
    this.network.stationsOnTop();
  }

  originPoint() {
    const report = (this.detail?.reports || [])[0];
    if (report && report.lat !== null && report.lon !== null && report.lat !== undefined) {
      return L.latLng(report.lat, report.lon);
    }
    if (report && report.station_id && this.network.stations.has(report.station_id)) {
      return this.network.stations.get(report.station_id).getLatLng();
    }
    return this.detail ? this.network.reachMiddle(this.detail.origin_reach_id) : null;
  }

  drawOrigin() {
    const point = this.originPoint();
    if (!point) {
      if (this.origin) this.origin.remove();
      this.origin = null;
      return;
    }
    const title = t("legend.origin");
    if (!this.origin) {
      this.origin = L.marker(point, {
        icon: L.divIcon({ className: "origin-marker", iconSize: [22, 22], html: "<span></span>" }),
        title,
        alt: title,
        keyboard: true,
        zIndexOffset: 1000,
      }).addTo(this.map);
    } else {
      this.origin.setLatLng(point);
    }
  }

  /** Bounds of the path and the notified jurisdictions, to zoom to a newly selected incident. */
  bounds() {
    const bounds = L.latLngBounds([]);
    if (this.pathGroup.getLayers().length) bounds.extend(this.pathGroup.getBounds());
    for (const id of this.noticesByJurisdiction().keys()) {
      const layer = this.network.jurisdictions.get(id);
      if (layer) bounds.extend(layer.getBounds());
    }
    const origin = this.originPoint();
    if (origin) bounds.extend(origin);
    return bounds;
  }
}
