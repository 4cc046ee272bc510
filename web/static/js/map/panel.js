// The side panel: open incidents, the selected incident (notified bureaus, statutory clocks,
// timeline) and what the signed-in person may do about it.
import { t } from "../i18n.js";
import { el } from "../layout.js";
import { arrival, shanghai, shanghaiShort, timeLeft } from "../time.js";
import { STATUS_COLOURS } from "./style.js";

const OPEN = new Set(["open", "monitoring"]);

export function isOpen(incident) {
  return OPEN.has(incident.status);
}

function incidentLabel(item) {
  const parts = [t("incident.title", { id: item.id, river: item.river }), t(`istatus.${item.status}`)];
  parts.push(t("incident.grade", { grade: item.grade }));
  if (item.exercise) parts.push(t("incident.drill"));
  return parts.join(" · ");
}

/** The list of open incidents; rebuilt only when it changed, keeping keyboard focus. */
export function drawIncidentList(list, items, selectedId, onSelect) {
  const key = JSON.stringify([items.map((i) => [i.id, i.status, i.grade, i.river]), selectedId, t("panel.none")]);
  if (list.dataset.key === key) return;
  const focused = document.activeElement?.closest?.("#incident-list button")?.dataset.id;
  list.dataset.key = key;
  list.replaceChildren();
  if (!items.length) {
    list.append(el("li", { class: "muted", text: t("panel.none") }));
    return;
  }
  for (const item of items) {
    const button = el("button", {
      type: "button",
      class: "incident-item",
      "aria-pressed": String(item.id === selectedId),
      dataset: { id: String(item.id) },
      onclick: () => onSelect(item.id),
      text: incidentLabel(item),
    });
    list.append(el("li", {}, button));
    if (String(item.id) === focused) button.focus();
  }
}

function statusBadge(status) {
  return el("span", {
    class: `badge status-${status}`,
    style: `--badge: ${STATUS_COLOURS[status] || "#6b7280"}`,
    text: t(`status.${status}`),
  });
}

function noticeTable(detail, names) {
  const head = el(
    "tr",
    {},
    ...["incident.bureau", "incident.role", "incident.status", "incident.eta", "incident.deadline"].map((k) =>
      el("th", { scope: "col", text: t(k) }),
    ),
  );
  const rows = detail.notice_list.map((n) =>
    el(
      "tr",
      { dataset: { jurisdiction: n.jurisdiction_id, status: n.status } },
      el("th", { scope: "row", text: names(n.jurisdiction_id) || n.bureau }),
      el("td", { text: t(`role.${n.role}`) }),
      el("td", {}, statusBadge(n.status)),
      el("td", {
        text:
          n.distance_km === null
            ? t("eta.unknown")
            : `${arrival(detail.opened_at, n.eta_hours, { short: true })} · ${t("incident.distance", { km: n.distance_km.toFixed(1) })}`,
        dataset: { eta: n.eta_hours === null ? "" : String(n.eta_hours) },
      }),
      el("td", {
        text:
          n.status === "acknowledged"
            ? t("incident.ackedAt", { time: shanghaiShort(n.acknowledged_at) })
            : `${shanghaiShort(n.ack_deadline)} (${timeLeft(n.ack_deadline)})`,
      }),
    ),
  );
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "notices", id: "notice-table" },
      el("caption", { text: t("incident.notified") }),
      el("thead", {}, head),
      el("tbody", {}, ...rows),
    ),
  );
}

function clockList(detail) {
  const items = detail.clocks.map((c) =>
    el(
      "li",
      { class: c.met_at ? "clock met" : "clock", dataset: { kind: c.kind } },
      el("strong", { text: t(`clock.${c.kind}`) }),
      " ",
      c.met_at ? t("incident.met", { time: shanghai(c.met_at) }) : `${t("incident.due", { time: shanghai(c.due_at) })} · ${timeLeft(c.due_at)}`,
    ),
  );
  return el("section", { class: "clocks" }, el("h3", { text: t("incident.clocks") }), el("ul", {}, ...items));
}

/** Every event of the incident, in time order. */
export function timelineEvents(detail, names) {
  const bureau = (id, fallback) => names(id) || fallback || id;
  const events = [];
  for (const r of detail.reports) {
    const where = r.station_id || r.reach_id;
    events.push([r.received_at, "report", t("tl.report", { who: r.reporter, where }) + (r.exceeded ? t("tl.exceeded") : "")]);
  }
  for (const n of detail.notice_list) {
    const name = bureau(n.jurisdiction_id, n.bureau);
    events.push([n.created_at, "notice", t("tl.notice", { bureau: name, role: t(`role.${n.role}`) })]);
    if (n.sent_at) events.push([n.sent_at, "sent", t("tl.sent", { bureau: name })]);
    if (n.escalated_at) events.push([n.escalated_at, "escalated", t("tl.escalated", { bureau: name })]);
  }
  const byNotice = new Map(detail.notice_list.map((n) => [n.id, n]));
  for (const a of detail.acknowledgements) {
    const n = byNotice.get(a.notice_id);
    events.push([a.at, "ack", t("tl.ack", { bureau: n ? bureau(n.jurisdiction_id, n.bureau) : a.notice_id, who: a.by_name })]);
  }
  for (const f of detail.follow_ups) {
    events.push([f.at, f.kind, t(`tl.${f.kind === "end_of_alert" ? "end_of_alert" : "follow_up"}`, { who: f.author, text: f.text })]);
  }
  if (detail.closed_at) events.push([detail.closed_at, "closed", t("tl.closed")]);
  if (detail.cancelled_at) events.push([detail.cancelled_at, "cancelled", t("tl.cancelled")]);
  events.sort((a, b) => new Date(a[0]) - new Date(b[0]));
  return events;
}

export function drawIncident(section, detail, names) {
  const events = timelineEvents(detail, names).map(([at, kind, text]) =>
    el("li", { class: `tl-${kind}` }, el("time", { datetime: at, text: shanghai(at) }), " ", text),
  );
  section.replaceChildren(
    el("h2", { id: "incident-heading", text: incidentLabel(detail) }),
    el("p", { class: "muted", text: t("incident.opened", { time: shanghai(detail.opened_at) }) }),
    noticeTable(detail, names),
    clockList(detail),
    el("section", { class: "timeline" }, el("h3", { text: t("incident.timeline") }), el("ol", {}, ...events)),
  );
  section.setAttribute("aria-labelledby", "incident-heading");
  section.hidden = false;
}
