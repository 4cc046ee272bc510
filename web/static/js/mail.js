// The sent-mail view: what the embedded SMTP sink received (only with `make run`).
import { api } from "./api.js";
import { onLanguage, t } from "./i18n.js";
import { el, poll, startPage } from "./layout.js";
import { shanghai } from "./time.js";

const user = startPage();
let lastKey = "";

function card(m) {
  return el(
    "li",
    { class: "card mail-card" },
    el("details", {},
      el("summary", {}, el("strong", { text: m.subject || "—" }), " · ", shanghai(m.received_at)),
      el("dl", {},
        el("dt", { text: t("mail.from") }), el("dd", { text: m.from }),
        el("dt", { text: t("mail.to") }), el("dd", { text: m.to.join(", ") }),
        el("dt", { text: t("mail.at") }), el("dd", { text: shanghai(m.received_at) })),
      el("pre", { class: "mail-text", text: m.text }),
      m.attachments.length ? el("p", { class: "muted", text: m.attachments.join(", ") }) : null),
  );
}

async function refresh() {
  const list = document.getElementById("mail");
  let messages;
  try {
    messages = await api("/web/api/mail?limit=100");
  } catch (error) {
    list.replaceChildren(el("li", { class: "muted", text: error.status === 404 ? t("mail.unavailable") : error.message }));
    return;
  }
  const key = JSON.stringify(messages.map((m) => m.message_id)) + t("mail.to");
  if (key === lastKey) return;
  lastKey = key;
  list.replaceChildren(...(messages.length ? messages.map(card) : [el("li", { class: "muted", text: t("mail.none") })]));
}

onLanguage(() => {
  lastKey = "";
  refresh();
});

if (user) poll(refresh, 5000)();
