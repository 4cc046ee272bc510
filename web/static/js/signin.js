// Sign-in: username and password to POST /api/v1/auth/token (OAuth2 password form).
import { api, saveSession, session } from "./api.js";
import { t } from "./i18n.js";
import { announce, startPage } from "./layout.js";

function destination(role) {
  const next = new URLSearchParams(location.search).get("next");
  // Only a path on this site: "//host" and "/\\host" would leave it.
  if (next && /^\/(?![\/\\])/.test(next)) return next;
  return role === "bureau" ? "/inbox" : "/map";
}

function showNotice(text) {
  const notice = document.getElementById("signin-notice");
  notice.textContent = text;
  notice.hidden = !text;
}

startPage({ needsSession: false });
const current = session();
if (current) location.replace(destination(current.role));
if (new URLSearchParams(location.search).get("expired")) showNotice(t("signin.expired"));

const form = document.getElementById("signin-form");
const submit = document.getElementById("signin-submit");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = form.username.value.trim();
  const password = form.password.value;
  for (const input of [form.username, form.password]) {
    input.setAttribute("aria-invalid", input.value ? "false" : "true");
  }
  if (!username || !password) {
    (username ? form.password : form.username).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = t("signin.busy");
  try {
    const answer = await api("/api/v1/auth/token", {
      method: "POST",
      form: { grant_type: "password", username, password },
    });
    saveSession(answer, username);
    announce(t("signin.done"));
    location.assign(destination(answer.role));
  } catch (error) {
    showNotice(error.message);
    form.password.select();
    form.password.focus();
  } finally {
    submit.disabled = false;
    submit.textContent = t("signin.submit");
  }
});
