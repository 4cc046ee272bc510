// The notification map: the network as the base (no tiles), the selected incident on top, the
// side panel beside it; polls the API every 2 s so changes show without a reload.
import * as L from "/static/vendor/leaflet/leaflet-src.esm.js";
import { api } from "./api.js";
import { lang, onLanguage, t } from "./i18n.js";
import { announce, el, poll, startPage } from "./layout.js";
import { arrival, shanghai } from "./time.js";
import { actionsKey, drawActions } from "./map/actions.js";
import { IncidentOverlay } from "./map/incident.js";
import { NetworkLayers } from "./map/network.js";
import { drawIncident, drawIncidentList, isOpen } from "./map/panel.js";
import {
  kindSwatch, LEGEND_STATUSES, PATH_STYLE, riverColour, setRivers, STATUS_COLOURS,
} from "./map/style.js";

const POLL_MS = 2000;
const user = startPage();

const state = {
  basins: [],
  incidents: [],
  selectedId: null,
  detail: null,
  detailKey: "",
  actionsKey: "",
  statuses: new Map(),
  zoomedTo: null,
  reaches: null,
};

const map = L.map("map", {
  preferCanvas: true,
  zoomControl: false,
  attributionControl: false,
  minZoom: 3,
  maxZoom: 14,
  zoomSnap: 0.5,
  keyboard: true,
});
map.setView([40, 100], 4);
L.control.zoom({ zoomInTitle: t("map.zoomIn"), zoomOutTitle: t("map.zoomOut") }).addTo(map);

function drawZoomTitles() {
  for (const [selector, key] of [[".leaflet-control-zoom-in", "map.zoomIn"], [".leaflet-control-zoom-out", "map.zoomOut"]]) {
    const button = document.querySelector(selector);
    button?.setAttribute("title", t(key));
    button?.setAttribute("aria-label", t(key));
  }
}

const names = (id) => network.jurisdictions.get(id)?.feature.properties.name;

const tooltips = {
  jurisdiction(p) {
    const lines = [`<strong>${escapeHtml(p.name)}</strong>`, escapeHtml(p.bureau || "")];
    const notice = overlay?.noticesByJurisdiction().get(p.jurisdiction_id);
    if (notice && state.detail) {
      lines.push(`${t("incident.status")}: ${t(`status.${notice.status}`)}`);
      lines.push(`${t("incident.eta")}: ${escapeHtml(arrival(state.detail.opened_at, notice.eta_hours))}`);
      lines.push(`${t("incident.deadline")}: ${shanghai(notice.ack_deadline)}`);
    }
    return lines.filter(Boolean).join("<br>");
  },
  reach(p) {
    const boundary = p.co_jurisdictions ? ` · ${t("legend.boundary")}` : "";
    return `<strong>${escapeHtml(p.river)}</strong> ${escapeHtml(p.reach_id)}${boundary}`;
  },
  station(p) {
    return `${escapeHtml(p.name)}<br>${escapeHtml(p.station_id)}`;
  },
};

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const network = new NetworkLayers(map, {
  tooltips,
  onReachClick(props) {
    const input = document.getElementById("drill-reach");
    if (input) {
      input.value = props.reach_id;
      input.removeAttribute("aria-invalid");
    }
  },
});
const overlay = new IncidentOverlay(map, network);

// --- legend and basin selector ------------------------------------------------------------

function swatch(style, shape = "box") {
  const s = el("span", { class: `swatch swatch-${shape}`, "aria-hidden": "true" });
  s.style.setProperty("--fill", style.fillColor || "transparent");
  s.style.setProperty("--line", style.color || "transparent");
  if (style.dashArray || shape === "dashed") s.classList.add("dashed");
  return s;
}

function legendContent() {
  const basin = state.basins.find((b) => b.key === document.getElementById("basin").value);
  const rivers = basin ? basin.rivers : [];
  const item = (sw, text) => el("li", {}, sw, " ", text);
  return [
    el("summary", { text: t("map.legend") }),
    el("h3", { text: t("legend.jurisdictions") }),
    el("ul", {}, ...["county", "park", "xpcc"].map((k) => item(swatch(kindSwatch(k)), t(`legend.${k}`)))),
    el("h3", { text: t("legend.reaches") }),
    el("ul", {},
      ...rivers.map((r) => item(swatch({ color: riverColour(r) }, "line"), r)),
      item(swatch({ color: "#475569" }, "dashed"), t("legend.boundary")),
      item(swatch({ color: "#1f2937", fillColor: "#fff" }, "dot"), t("legend.station"))),
    el("h3", { text: t("legend.incident") }),
    el("ul", {},
      item(el("span", { class: "swatch origin-swatch", "aria-hidden": "true" }), t("legend.origin")),
      item(swatch({ color: PATH_STYLE.color }, "path"), t("legend.path")),
      ...LEGEND_STATUSES.map((s) => item(swatch({ fillColor: STATUS_COLOURS[s], color: STATUS_COLOURS[s] }), t(`status.${s}`)))),
  ];
}

const legend = L.control({ position: "bottomright" });
legend.onAdd = () => {
  const box = el("details", { class: "legend", id: "legend" });
  box.open = !window.matchMedia("(max-width: 960px)").matches;
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  return box;
};
legend.addTo(map);

function drawLegend() {
  document.getElementById("legend").replaceChildren(...legendContent());
}

function drawBasinOptions() {
  const select = document.getElementById("basin");
  const value = select.value || localStorage.getItem("rn.basin") || state.basins[0]?.key;
  select.replaceChildren(
    ...state.basins.map((b) => el("option", { value: b.key, text: lang() === "en" ? b.name_en : b.name_zh })),
  );
  if (value) select.value = value;
}

function fitBasin(key, animate = true) {
  const basin = state.basins.find((b) => b.key === key);
  if (!basin) return;
  const [w, s, e, n] = basin.bbox;
  map.fitBounds([[s, w], [n, e]], { padding: [20, 20], animate });
}

document.getElementById("basin").addEventListener("change", (event) => {
  localStorage.setItem("rn.basin", event.target.value);
  fitBasin(event.target.value);
  drawLegend();
});

// --- incidents ------------------------------------------------------------------------------

function announceChanges(detail) {
  const changes = [];
  for (const n of detail.notice_list) {
    const key = `${detail.id}:${n.id}`;
    const before = state.statuses.get(key);
    if (before && before !== n.status) {
      changes.push(`${names(n.jurisdiction_id) || n.bureau} ${t(`status.${n.status}`)}`);
    }
    state.statuses.set(key, n.status);
  }
  if (changes.length) announce(changes.join("；"));
}

async function refreshDetail() {
  if (state.selectedId === null) return;
  const detail = await api(`/api/v1/incidents/${state.selectedId}`);
  if (detail.id !== state.selectedId) return;
  state.detail = detail;
  announceChanges(detail);
  const key = JSON.stringify(detail) + Math.floor(Date.now() / 60000) + lang();
  if (key !== state.detailKey) {
    state.detailKey = key;
    overlay.show(detail);
    drawIncident(document.getElementById("incident"), detail, names);
  }
  const akey = actionsKey(detail, user);
  if (akey !== state.actionsKey) {
    state.actionsKey = akey;
    drawActionsNow();
  }
  if (state.zoomedTo !== detail.id) {
    state.zoomedTo = detail.id;
    const bounds = overlay.bounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 10 });
  }
}

function drawActionsNow() {
  const section = document.getElementById("actions");
  section.hidden = !drawActions(document.getElementById("actions-body"), state.detail, user, refresh);
}

async function select(id) {
  state.selectedId = id;
  state.detailKey = "";
  state.zoomedTo = null;
  drawIncidentList(document.getElementById("incident-list"), state.incidents, id, select);
  await refreshDetail();
}

async function refreshList() {
  const answer = await api("/api/v1/incidents?limit=100");
  state.incidents = answer.items.filter(isOpen);
  const wanted = new URLSearchParams(location.search).get("incident");
  if (state.selectedId === null && wanted && answer.items.some((i) => String(i.id) === wanted)) {
    state.selectedId = Number(wanted);
  } else if (state.selectedId === null && state.incidents.length) {
    state.selectedId = state.incidents[0].id;
  }
  drawIncidentList(document.getElementById("incident-list"), state.incidents, state.selectedId, select);
}

async function refresh() {
  await refreshList();
  await refreshDetail();
  if (state.selectedId === null && state.actionsKey !== "none") {
    state.actionsKey = "none";
    drawActionsNow();
  }
}

function drawProgress() {
  const progress = document.getElementById("map-progress");
  progress.textContent = state.reaches === null ? t("map.loading") : t("map.loaded", { reaches: state.reaches });
}

onLanguage(() => {
  drawZoomTitles();
  drawProgress();
  drawBasinOptions();
  drawLegend();
  state.detailKey = "";
  state.actionsKey = "";
  document.getElementById("incident-list").dataset.key = "";
  refresh();
});

// --- start ----------------------------------------------------------------------------------

async function start() {
  drawProgress();
  state.basins = await (await fetch("/web/api/basins")).json();
  setRivers(state.basins.flatMap((b) => b.rivers));
  drawBasinOptions();
  drawLegend();
  fitBasin(document.getElementById("basin").value, false);
  const reaches = await network.load(map.getZoom());
  const drawnAt = performance.now();
  window.rnPerf = { networkDrawnMs: drawnAt, reaches };
  performance.mark("rn-network-drawn");
  state.reaches = reaches;
  drawProgress();
  document.body.dataset.network = "drawn";
  const tick = poll(refresh, POLL_MS);
  await tick();
  document.body.dataset.live = "polling";
}

// For tests and for anyone debugging in the console.
window.rivernotify = { map, network, overlay, state };

if (user) start().catch((error) => {
  document.getElementById("map-progress").textContent = error.message;
  console.error(error);
});
