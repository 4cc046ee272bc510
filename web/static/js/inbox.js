// The bureau's inbox: my open notices, newest first, each with the acknowledge button and the
// follow-up form. Polls every 3 s.
import { api } from "./api.js";
import { onLanguage, t } from "./i18n.js";
import { announce, el, poll, startPage } from "./layout.js";
import { followUpForm } from "./map/actions.js";
import { arrival, shanghai, timeLeft } from "./time.js";
import { STATUS_COLOURS } from "./map/style.js";

const AWAITING = new Set(["pending", "sent", "overdue", "escalated"]);
const user = startPage();
let lastKey = "";

async function acknowledge(notice, button) {
  button.disabled = true;
  try {
    await api(`/api/v1/notices/${notice.id}/ack`, { method: "POST", body: {} });
    announce(t("actions.done", { what: t("actions.ack") }));
    await refresh();
  } catch (error) {
    button.disabled = false;
    announce(t("actions.failed", { why: error.message }));
  }
}

function card(n) {
  const ack = el("button", {
    type: "button",
    class: "button-primary ack",
    dataset: { notice: String(n.id) },
    text: t("actions.ack"),
  });
  ack.addEventListener("click", () => acknowledge(n, ack));
  const heading = `notice-${n.id}-heading`;
  return el(
    "li",
    { class: "card notice-card", dataset: { notice: String(n.id), status: n.status }, "aria-labelledby": heading },
    el("h2", { id: heading, text: t("inbox.notice", { id: n.incident_id, river: n.river }) + (n.exercise ? ` · ${t("incident.drill")}` : "") }),
    el("p", {},
      el("span", { class: `badge status-${n.status}`, style: `--badge: ${STATUS_COLOURS[n.status]}`, text: t(`status.${n.status}`) }),
      " ", t(`role.${n.role}`), " · ", n.bureau),
    el("dl", {},
      el("dt", { text: t("incident.eta") }), el("dd", { text: arrival(n.created_at, n.eta_hours) }),
      el("dt", { text: t("incident.deadline") }), el("dd", { text: `${shanghai(n.ack_deadline)} (${timeLeft(n.ack_deadline)})` }),
      el("dt", { text: t("inbox.reason") }), el("dd", { text: n.reason || "—" })),
    el("div", { class: "card-actions" }, ack, el("a", { href: `/map?incident=${n.incident_id}`, text: t("inbox.openMap") })),
    followUpForm(n.incident_id, refresh, `followup-notice-${n.id}`),
  );
}

async function refresh() {
  const answer = await api("/api/v1/notices?limit=200");
  const open = answer.items.filter((n) => AWAITING.has(n.status) && !["closed", "cancelled"].includes(n.incident_status));
  open.sort((a, b) => new Date(b.created_at) - new Date(a.created_at) || b.id - a.id);
  const key = JSON.stringify(open) + Math.floor(Date.now() / 60000) + t("actions.ack");
  if (key === lastKey) return;
  // Keep what someone is typing: leave the list alone while a follow-up has text in it.
  const typing = [...document.querySelectorAll("#inbox textarea")].some((a) => a.value);
  if (typing && lastKey) return;
  const first = !lastKey;
  lastKey = key;
  const list = document.getElementById("inbox");
  list.replaceChildren(...(open.length ? open.map(card) : [el("li", { class: "muted", text: t("inbox.none") })]));
  if (!first) announce(t("inbox.updated", { n: open.length }));
}

onLanguage(() => {
  lastKey = "";
  refresh();
});

if (user) {
  const tick = poll(refresh, 3000);
  tick().then(() => {
    document.body.dataset.live = "polling";
  });
}
