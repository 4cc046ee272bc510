// What the signed-in person may do: supervisors set the grade, close, start a drill; bureaus
// acknowledge their notice; every party may add a follow-up (续报).
import { api } from "../api.js";
import { t } from "../i18n.js";
import { announce, el } from "../layout.js";

const GRADES = ["I", "II", "III", "IV"];
const AWAITING = new Set(["pending", "sent", "overdue", "escalated"]);

function result(text, failed = false) {
  const out = document.getElementById("action-result");
  if (out) {
    out.textContent = text;
    out.className = failed ? "action-result error" : "action-result";
  }
  announce(text);
}

async function run(what, request, after) {
  try {
    await request();
    result(t("actions.done", { what }));
    await after();
  } catch (error) {
    result(t("actions.failed", { why: error.message }), true);
  }
}

function severityForm(detail, after) {
  const select = el("select", { id: "grade", name: "grade" },
    ...GRADES.map((g) => el("option", { value: g, selected: g === detail.grade, text: t(`grade.${g}`) })));
  return el("form", {
    class: "inline-form",
    onsubmit: (event) => {
      event.preventDefault();
      const grade = select.value;
      run(t("actions.setSeverity"), () => api(`/api/v1/incidents/${detail.id}/severity`, { method: "POST", body: { grade } }), after);
    },
  },
  el("label", { for: "grade", text: t("actions.severity") }), select,
  el("button", { type: "submit", id: "set-severity", text: t("actions.setSeverity") }));
}

function closeButton(detail, after) {
  return el("button", {
    type: "button",
    id: "close-incident",
    class: "button-danger",
    text: t("actions.close"),
    onclick: () => run(t("actions.close"), () => api(`/api/v1/incidents/${detail.id}/close`, { method: "POST", body: {} }), after),
  });
}

export function drillForm(after) {
  const input = el("input", { id: "drill-reach", name: "reach_id", maxlength: "64", required: true, autocomplete: "off" });
  return el("form", {
    class: "stack-form",
    id: "drill-form",
    onsubmit: (event) => {
      event.preventDefault();
      const reach = input.value.trim();
      if (!reach) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      run(t("actions.drill"), () => api("/api/v1/drills", { method: "POST", body: { reach_id: reach } }), after);
    },
  },
  el("label", { for: "drill-reach", text: t("actions.drillReach") }), input,
  el("button", { type: "submit", text: t("actions.drill") }));
}

function ackButtons(detail, user, after) {
  const mine = detail.notice_list.filter((n) => n.jurisdiction_id === user.jurisdiction_id);
  return mine.map((n) =>
    AWAITING.has(n.status)
      ? el("button", {
          type: "button",
          class: "button-primary ack",
          dataset: { notice: String(n.id) },
          text: t("actions.ack"),
          onclick: () => run(t("actions.ack"), () => api(`/api/v1/notices/${n.id}/ack`, { method: "POST", body: {} }), after),
        })
      : el("p", { class: "acked", text: t("actions.acked") }),
  );
}

export function followUpForm(incidentId, after, idPrefix = "followup") {
  const id = `${idPrefix}-${incidentId}`;
  const area = el("textarea", { id, name: "text", rows: "3", maxlength: "4000", required: true });
  return el("form", {
    class: "stack-form followup-form",
    onsubmit: (event) => {
      event.preventDefault();
      const text = area.value.trim();
      if (!text) {
        area.setAttribute("aria-invalid", "true");
        area.focus();
        return;
      }
      run(t("actions.sendFollowup"), async () => {
        await api(`/api/v1/incidents/${incidentId}/follow-ups`, { method: "POST", body: { text } });
        area.value = "";
      }, after);
    },
  },
  el("label", { for: id, text: t("actions.followup") }), area,
  el("button", { type: "submit", text: t("actions.sendFollowup") }));
}

/** A key that changes when the actions on offer change (so the forms are not rebuilt each poll). */
export function actionsKey(detail, user) {
  const mine = detail ? detail.notice_list.filter((n) => n.jurisdiction_id === user.jurisdiction_id).map((n) => [n.id, AWAITING.has(n.status)]) : [];
  return JSON.stringify([detail?.id, detail?.status, detail?.grade, mine, t("actions.ack")]);
}

export function drawActions(body, detail, user, after) {
  const supervisor = user.role === "supervisor" || user.role === "admin";
  const open = detail && (detail.status === "open" || detail.status === "monitoring");
  const parts = [];
  if (detail && open && supervisor) parts.push(severityForm(detail, after), closeButton(detail, after));
  if (detail && user.role === "bureau") parts.push(...ackButtons(detail, user, after));
  if (detail && open) parts.push(followUpForm(detail.id, after));
  if (supervisor) parts.push(drillForm(after));
  parts.push(el("p", { id: "action-result", class: "action-result" }));
  body.replaceChildren(...parts);
  return parts.length > 1;
}
