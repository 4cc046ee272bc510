// Times are stored in UTC and shown in Beijing time (Asia/Shanghai), whatever the browser's zone.
import { lang, t } from "./i18n.js";

export const ZONE = "Asia/Shanghai";

const formatter = new Intl.DateTimeFormat("en-CA", {
  timeZone: ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

/** "2026-05-01 09:30" in Asia/Shanghai, for an ISO string, a Date or epoch milliseconds. */
export function shanghai(value) {
  if (value === null || value === undefined || value === "") return "";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const parts = Object.fromEntries(formatter.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** "05-01 09:30": for tables, where the year is plain from the context. */
export function shanghaiShort(value) {
  return shanghai(value).slice(5);
}

export function duration(ms) {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? t("dur.hm", { h, m }) : t("dur.m", { m });
}

/** "还剩 1 小时 5 分" or "已超时 …" until `due` (ISO), from `now` (ms). */
export function timeLeft(due, now = Date.now()) {
  const ms = new Date(due).getTime() - now;
  return ms >= 0 ? t("left.in", { t: duration(ms) }) : t("left.over", { t: duration(ms) });
}

/** Estimated arrival: the incident's opening plus the travel time. */
export function arrival(openedAt, etaHours, { short = false } = {}) {
  if (etaHours === null || etaHours === undefined) return t("eta.unknown");
  const at = new Date(openedAt).getTime() + etaHours * 3600000;
  const h = etaHours < 10 ? etaHours.toFixed(1) : Math.round(etaHours);
  return t("eta.at", { time: short ? shanghaiShort(at) : shanghai(at), h });
}

export function zoneNote() {
  return lang() === "en" ? "Beijing time" : "北京时间";
}
