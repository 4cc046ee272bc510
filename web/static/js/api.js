// Talking to the REST API: the bearer token lives in sessionStorage (gone when the tab closes).
import { lang, t } from "./i18n.js";

const TOKEN = "rn.token";
const USER = "rn.user";

export function session() {
  const token = sessionStorage.getItem(TOKEN);
  if (!token) return null;
  try {
    return { token, ...JSON.parse(sessionStorage.getItem(USER) || "{}") };
  } catch {
    return { token };
  }
}

export function saveSession(answer, username) {
  sessionStorage.setItem(TOKEN, answer.access_token);
  sessionStorage.setItem(
    USER,
    JSON.stringify({ username, role: answer.role, jurisdiction_id: answer.jurisdiction_id }),
  );
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(USER);
}

/** Send the browser to the sign-in page, coming back here afterwards. */
export function toSignIn(expired = false) {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/?next=${next}${expired ? "&expired=1" : ""}`);
}

export class ApiFailure extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    const zh = error.message_zh || (body && body.detail) || `HTTP ${status}`;
    const en = error.message_en || zh;
    super(lang() === "en" ? en : zh);
    this.status = status;
    this.code = error.code || "";
  }
}

/** fetch with the token; JSON in and out. A 401 ends the session and goes to sign-in. */
export async function api(path, { method = "GET", body, form, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  const current = session();
  if (current) headers.Authorization = `Bearer ${current.token}`;
  let payload;
  if (form) {
    payload = new URLSearchParams(form);
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, cache: "no-store" });
  } catch {
    throw new ApiFailure(0, { error: { message_zh: t("error.network"), message_en: t("error.network") } });
  }
  if (response.status === 401 && current && !form) {
    clearSession();
    toSignIn(true);
  }
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    throw new ApiFailure(response.status, parsed);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}
