// Shared page furniture: settings from the page, times in the display time zone, the
// message bar (every failure is said in words), the header with language switch and logout.

import { api } from "./api.js";
import { applyLabels, label, lang, onLangChange, setLang, t } from "./i18n.js";

export const config = JSON.parse(document.getElementById("fleet-config")?.textContent || "{}");
export const TIME_ZONE = config.timeZone || "Asia/Shanghai";

const partsFormatter = new Intl.DateTimeFormat("en-CA", {
  timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

function zoneParts(date) {
  const parts = Object.fromEntries(partsFormatter.formatToParts(date).map((p) => [p.type, p.value]));
  return parts;
}

/** Today's date in the display time zone, YYYY-MM-DD. */
export function todayInZone(date = new Date()) {
  const p = zoneParts(date);
  return `${p.year}-${p.month}-${p.day}`;
}

/** Offset of the display time zone at `date`, minutes east of UTC. */
function offsetMinutes(date) {
  const p = zoneParts(date);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - date.getTime()) / 60000);
}

/** A wall-clock "YYYY-MM-DDTHH:MM" in the display time zone -> ISO-8601 with its offset. */
export function zonedToIso(local) {
  const guess = new Date(local + ":00Z");
  const offset = offsetMinutes(new Date(guess.getTime() - offsetMinutes(guess) * 60000));
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${local}:00${sign}${hh}:${mm}`;
}

/** Start and end of a display-zone day as ISO strings. */
export function dayRange(day) {
  const start = zonedToIso(`${day}T00:00`);
  const next = new Date(new Date(start).getTime() + 86400000);
  return [start, next.toISOString()];
}

/** "HH:MM" (or "MM-DD HH:MM" with withDate) in the display time zone. */
export function formatTime(iso, withDate = false) {
  if (!iso) return "–";
  const p = zoneParts(new Date(iso));
  return withDate ? `${p.month}-${p.day} ${p.hour}:${p.minute}` : `${p.hour}:${p.minute}`;
}

export function formatMoney(value) {
  return Number(value || 0).toLocaleString(lang() === "zh" ? "zh-CN" : "en", { maximumFractionDigits: 0 });
}

export function formatPercent(value) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(1)}%`;
}

/** Escape text for innerHTML. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

let messageTimer = null;

/** Show a message in the page's message bar; kind "error" stays until the next message. */
export function say(text, kind = "info") {
  const bar = document.getElementById("message");
  if (!bar) return;
  bar.textContent = text;
  bar.className = `message ${kind}`;
  bar.hidden = false;
  clearTimeout(messageTimer);
  if (kind !== "error") messageTimer = setTimeout(() => (bar.hidden = true), 6000);
}

/** Run an async action; a failure is shown in words, never swallowed. */
export async function attempt(action, button) {
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (error) {
    say(t("error.generic", { detail: error.message || String(error) }), "error");
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Wire the header: labels, language switch, logout; returns the logged-in user. */
export async function startPage() {
  applyLabels();
  const langButton = document.getElementById("lang-switch");
  if (langButton) langButton.addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));
  onLangChange(() => applyLabels());
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      await attempt(() => api("/auth/logout", { method: "POST" }));
      window.location.href = "/login";
    });
  }
  const me = await api("/auth/me");
  const who = document.getElementById("who");
  const sayWho = () => { if (who) who.textContent = `${me.full_name || me.username} · ${label("role.", me.role)}`; };
  sayWho();
  onLangChange(sayWho);
  return me;
}
