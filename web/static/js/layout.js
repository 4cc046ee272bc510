// What every page shares: the header (who is signed in, language switch, sign-out) and the
// polite live region that announces updates to screen readers.
import { clearSession, session, toSignIn } from "./api.js";
import { applyI18n, lang, onLanguage, setLang, t } from "./i18n.js";

export function announce(text) {
  const region = document.getElementById("status");
  if (!region) return;
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = text;
  }, 30);
}

function drawWho() {
  const who = document.getElementById("who");
  const current = session();
  if (!who || !current) return;
  const role = current.role ? t(`who.role.${current.role}`) : "";
  who.textContent = `${current.username || ""} · ${role} · ${current.jurisdiction_id || ""}`;
}

function drawLangButton() {
  const button = document.getElementById("lang");
  if (!button) return;
  button.textContent = t("lang.switch");
  button.setAttribute("aria-label", t("lang.label"));
}

/** Set up the header; pages other than sign-in need a session (else go to sign-in). */
export function startPage({ needsSession = true } = {}) {
  const current = session();
  if (needsSession && !current) {
    toSignIn();
    return null;
  }
  applyI18n();
  drawWho();
  drawLangButton();
  onLanguage(() => {
    drawWho();
    drawLangButton();
  });
  document.getElementById("lang")?.addEventListener("click", () => {
    setLang(lang() === "en" ? "zh" : "en");
  });
  const signout = document.getElementById("signout");
  if (signout) {
    signout.hidden = !current;
    signout.addEventListener("click", () => {
      clearSession();
      location.assign("/");
    });
  }
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === location.pathname) link.setAttribute("aria-current", "page");
  }
  const mailLink = document.querySelector('nav a[href="/mail"]');
  if (mailLink && current && current.role === "bureau") mailLink.hidden = true;
  return current;
}

/** Element helper: el("li", {class: "x", text: "..."}, child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Poll `fn` every `ms` while the page is open; one call at a time, errors reported once. */
export function poll(fn, ms) {
  let running = false;
  const tick = async () => {
    if (running || document.hidden) return;
    running = true;
    try {
      await fn();
    } catch (error) {
      console.warn("poll failed", error);
    } finally {
      running = false;
    }
  };
  window.setInterval(tick, ms);
  document.addEventListener("visibilitychange", () => document.hidden || tick());
  return tick;
}
