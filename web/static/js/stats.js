// Statistics: incidents per month and time to acknowledge per bureau, drawn as SVG bar charts
// (no chart library needed), with the numbers in a table and a CSV download.
import { api, session } from "./api.js";
import { onLanguage, t } from "./i18n.js";
import { el, startPage } from "./layout.js";

const SVG = "http://www.w3.org/2000/svg";
const user = startPage();
let data = null;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Gridline values for counts: whole numbers, at most five lines. */
function ticks(max) {
  const step = Math.max(1, Math.ceil(max / 4));
  const out = [];
  for (let v = 0; v <= max; v += step) out.push(v);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

/** Every month from the first to the last, so that quiet months show as zero. */
function months(periods) {
  if (!periods.length) return [];
  const byKey = new Map(periods.map((p) => [p.period, p.incidents]));
  const [y0, m0] = periods[0].period.split("-").map(Number);
  const [y1, m1] = periods[periods.length - 1].period.split("-").map(Number);
  const out = [];
  for (let y = y0, m = m0; y < y1 || (y === y1 && m <= m1); m === 12 ? (y++, (m = 1)) : m++) {
    const key = `${y}-${String(m).padStart(2, "0")}`;
    out.push({ label: key, value: byKey.get(key) || 0 });
    if (out.length > 120) break;
  }
  return out;
}

/** Vertical bars: one per label. */
function columnChart(items, { label, unit }) {
  const width = 640, height = 280, left = 44, bottom = 44, top = 24;
  const grid = ticks(Math.max(1, ...items.map((i) => i.value)));
  const max = grid[grid.length - 1];
  const step = Math.min(90, (width - left - 10) / Math.max(1, items.length));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "bars" });
  chart.append(svg("title", {}, label));
  const scale = (v) => ((height - top - bottom) * v) / max;
  for (const tick of grid) {
    const y = height - bottom - scale(tick);
    chart.append(svg("line", { x1: left, x2: width - 5, y1: y, y2: y, class: "grid" }));
    chart.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, String(Math.round(tick))));
  }
  items.forEach((item, i) => {
    const h = scale(item.value);
    const x = left + i * step + step * 0.15;
    const bar = svg("rect", { x, y: height - bottom - h, width: step * 0.7, height: Math.max(h, 0), class: "bar" });
    bar.append(svg("title", {}, `${item.label}: ${item.value} ${unit}`));
    chart.append(bar);
    chart.append(svg("text", { x: x + step * 0.35, y: height - bottom + 16, "text-anchor": "middle", class: "axis" }, item.label));
    chart.append(svg("text", { x: x + step * 0.35, y: height - bottom - h - 4, "text-anchor": "middle", class: "value" }, String(item.value)));
  });
  return chart;
}

/** Horizontal bars: one per bureau. */
function barChart(items, { label, unit }) {
  const row = 32, left = 250, width = 640;
  const height = Math.max(60, items.length * row + 20);
  const max = Math.max(1, ...items.map((i) => i.value));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "bars" });
  chart.append(svg("title", {}, label));
  items.forEach((item, i) => {
    const y = 10 + i * row;
    const w = ((width - left - 60) * item.value) / max;
    chart.append(svg("text", { x: left - 8, y: y + 16, "text-anchor": "end", class: "axis" }, item.label));
    const bar = svg("rect", { x: left, y, width: Math.max(w, 2), height: row - 10, class: "bar bar-ack" });
    bar.append(svg("title", {}, `${item.label}: ${item.value} ${unit}`));
    chart.append(bar);
    chart.append(svg("text", { x: left + w + 8, y: y + 16, class: "value" }, `${item.value}`));
  });
  return chart;
}

function minutes(v) {
  return v === null || v === undefined ? null : Math.round(v * 10) / 10;
}

function drawPerMonth() {
  const target = document.getElementById("per-month");
  const items = months(data.periods);
  target.replaceChildren(items.length ? columnChart(items, { label: t("stats.perMonth"), unit: t("stats.incidents") }) : el("p", { class: "muted", text: t("stats.none") }));
}

function drawAckTime() {
  const select = document.getElementById("period");
  const chosen = select.value;
  select.replaceChildren(...data.periods.slice().reverse().map((p) => el("option", { value: p.period, text: p.period })));
  if (chosen && data.periods.some((p) => p.period === chosen)) select.value = chosen;
  const period = data.periods.find((p) => p.period === select.value);
  const items = (period ? period.bureaus : [])
    .filter((b) => b.median_ack_minutes !== null)
    .map((b) => ({ label: b.bureau, value: minutes(b.median_ack_minutes) }));
  const target = document.getElementById("ack-time");
  target.replaceChildren(items.length ? barChart(items, { label: t("stats.ackTime"), unit: t("stats.minutes") }) : el("p", { class: "muted", text: t("stats.none") }));
}

function drawTable() {
  const head = ["stats.month", "stats.incidents", "stats.notices", "stats.median", "stats.p90"].map((k) => el("th", { scope: "col", text: t(k) }));
  const rows = data.periods.map((p) =>
    el("tr", {}, el("th", { scope: "row", text: p.period }), el("td", { text: p.incidents }), el("td", { text: p.notices }),
      el("td", { text: minutes(p.median_ack_minutes) ?? "—" }), el("td", { text: minutes(p.p90_ack_minutes) ?? "—" })));
  document.getElementById("stats-table").replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows)));
}

function query(format) {
  const drills = document.getElementById("drills").checked;
  return `/api/v1/stats?period=month${drills ? "&drills=true" : ""}${format ? `&format=${format}` : ""}`;
}

async function load() {
  data = await api(query());
  document.getElementById("csv").setAttribute("href", query("csv"));
  drawPerMonth();
  drawAckTime();
  drawTable();
  document.body.dataset.loaded = "stats";
}

// The CSV needs the bearer token, which a plain link cannot send: fetch it and hand the browser
// a file to save.
document.getElementById("csv").addEventListener("click", async (event) => {
  event.preventDefault();
  const current = session();
  const response = await fetch(query("csv"), { headers: { Authorization: `Bearer ${current?.token}` } });
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  const a = el("a", { href: url, download: "rivernotify-month.csv" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
});
document.getElementById("period").addEventListener("change", drawAckTime);
document.getElementById("drills").addEventListener("change", load);
onLanguage(() => data && (drawPerMonth(), drawAckTime(), drawTable()));

if (user) load().catch((error) => {
  document.getElementById("per-month").replaceChildren(el("p", { class: "error", text: error.message }));
});
