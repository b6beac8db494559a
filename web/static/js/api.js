// Calls to the REST API with the session cookie; every failure becomes an Error whose
// message says in words what went wrong (the server's detail, field by field).

import { t } from "./i18n.js";

export class ApiError extends Error {
  /** `detail` is the server's own (a string, or a list of {type, loc, msg, ctx}) when it sent one. */
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

/** The server's `detail` (a string, or pydantic's list of {loc, msg}) as one sentence. */
export function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((e) => {
        const where = (e.loc || []).filter((p) => p !== "body" && p !== "query" && p !== "path").join(".");
        return where ? `${where}: ${e.msg}` : e.msg;
      })
      .join("; ");
  }
  return JSON.stringify(detail);
}

async function errorFrom(response, path) {
  let detail = `${response.status} ${response.statusText}`;
  let raw;
  try {
    const body = await response.json();
    if (body && body.detail !== undefined) {
      raw = body.detail;
      detail = describeDetail(body.detail);
    }
  } catch {
    /* not JSON: keep the status line */
  }
  if (response.status === 401 && !path.startsWith("/auth/login")) return new ApiError(401, t("error.session"), raw);
  if (response.status === 403) return new ApiError(403, t("error.forbidden", { detail }), raw);
  return new ApiError(response.status, detail, raw);
}

/** fetch /api/v1 + path; JSON in and out; throws ApiError with a readable message. */
export async function api(path, { method = "GET", body, form, query } = {}) {
  let url = "/api/v1" + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, v);
    const qs = params.toString();
    if (qs) url += "?" + qs;
  }
  const init = { method, headers: {}, credentials: "same-origin" };
  if (form) {
    init.body = new URLSearchParams(form);
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, t("error.network"));
  }
  if (!response.ok) {
    const error = await errorFrom(response, path);
    if (response.status === 401 && !path.startsWith("/auth/login")) {
      window.location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

/** Every item of a paginated list (pages of 200, at most maxItems). */
export async function apiAll(path, query = {}, maxItems = 2000) {
  const items = [];
  for (let offset = 0; offset < maxItems; offset += 200) {
    const page = await api(path, { query: { ...query, limit: 200, offset } });
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) break;
  }
  return items;
}
