// A refused request said in the page's language. The server names each refused field with a
// code (`type`: the platform's own refusals, web/refusals.py, and pydantic's validation
// errors) and the figures of the rule (`ctx`); a label err.<code> says it, with {field} the
// page's name for the field. Codes without a label fall back to the server's English words.

import { lang, t } from "./i18n.js";
import { formatTime } from "./ui.js";

/** The label for key, or null when there is none in either language. */
function labelled(key, values) {
  const text = t(key, values);
  return text === key ? null : text;
}

/** ctx figures as a sentence shows them: times in the display zone, km with separators. */
function figures(ctx = {}) {
  const out = {};
  for (const [name, value] of Object.entries(ctx)) {
    if (typeof value === "number") out[name] = value.toLocaleString("en", { maximumFractionDigits: 1 });
    else if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) out[name] = formatTime(value, true);
    else out[name] = t(`rs.${value}`) === `rs.${value}` ? String(value) : t(`rs.${value}`);
  }
  return out;
}

/** One refused field in words; `fields` maps a field name to its i18n key. */
function sayOne(entry, fields) {
  const loc = (entry.loc || []).filter((p) => p !== "body" && p !== "query" && p !== "path");
  const name = loc[loc.length - 1];
  const field = name && fields[name] ? t(fields[name]) : name || "";
  const text = labelled(`err.${entry.type}`, { field, ...figures(entry.ctx) });
  if (text) return text;
  return field ? `${field}: ${entry.msg}` : entry.msg;
}

/**
 * The error of an API call in the page's language: every refused field of a refusal, a
 * page-specific sentence for a status (`byStatus`, e.g. {404: "driver.error.gone"}), else the
 * message the API module made (already translated for network, session and permission errors).
 */
export function explain(error, { fields = {}, byStatus = {} } = {}) {
  const detail = error && error.detail;
  if (Array.isArray(detail) && detail.length) {
    return t("error.generic", { detail: detail.map((e) => sayOne(e, fields)).join(lang() === "zh" ? "；" : "; ") });
  }
  if (error && byStatus[error.status]) return t(byStatus[error.status], { detail: error.message });
  return t("error.generic", { detail: (error && error.message) || String(error) });
}
