// The approver's list: every submitted request with its filer, rider, agency, route and the
// server's warnings (GET /trip-requests/pending-approval); approve or reject the ticked ones
// at once, or one by one, through POST /trip-requests/transitions, which answers per request.

import { api, apiAll } from "./api.js";
import { label, lang, onLangChange, t } from "./i18n.js";
import { attempt, esc, formatTime, say, startPage } from "./ui.js";

let pending = [];
const selected = new Set();

/** One warning of the server in the page's language. */
function warningText(w) {
  const p = w.params || {};
  switch (w.code) {
    case "pickup_past":
      return t("aw.pickup_past", { time: formatTime(p.pickup_latest, true) });
    case "off_hours":
      return t("aw.off_hours", { day: p.day, from: formatTime(p.from), to: formatTime(p.to), start: p.work_start, end: p.work_end });
    case "rest_day": {
      const name = lang() === "zh" ? p.holiday_zh : p.holiday_en;
      return name ? t("aw.holiday", { day: p.day, name }) : t("aw.rest_day", { day: p.day });
    }
    case "calendar_unofficial":
      return t("aw.calendar_unofficial", { year: p.year });
    case "leaves_county":
    case "outside_allowed_area":
      return t(`aw.${w.code}`, { point: t(`aw.point.${p.point}`), address: p.address || "", area: p.area, org: p.org });
    default:
      return w.message;
  }
}

function people(r) {
  const parts = [t("approvals.requester", { name: r.requester_name })];
  if (r.rider_name && r.rider_name !== r.requester_name) parts.push(t("approvals.rider", { name: r.rider_name }));
  parts.push(r.agency_name);
  return parts.map(esc).join(" · ");
}

function item(r) {
  const warnings = r.warnings.map((w) => `<span class="badge warning" data-warning="${esc(w.code)}">${esc(warningText(w))}</span>`).join(" ");
  return `<li data-request-id="${r.id}" data-warnings="${r.warnings.map((w) => esc(w.code)).join(" ")}">
      <div class="row"><input type="checkbox" class="pick" ${selected.has(r.id) ? "checked" : ""} aria-label="#${r.id}">
        <b>#${r.id}</b> ${formatTime(r.pickup_earliest, true)}–${formatTime(r.pickup_latest)} ${esc(r.purpose)}
        · ${esc(t("approvals.passengers", { n: r.passengers }))}${r.vehicle_class ? " · " + esc(label("vc.", r.vehicle_class)) : ""}${r.nev_required ? " · NEV" : ""}</div>
      <div class="sub people">${people(r)}</div>
      <div class="sub route">${esc(r.origin_address)} → ${esc(r.destination_address)}</div>
      ${warnings ? `<div class="row wrap warnings">${warnings}</div>` : ""}
      <div class="row"><button type="button" class="primary" data-to="approved">${t("approvals.approve")}</button>
        <input class="reason" maxlength="500" placeholder="${t("approvals.reason")}">
        <button type="button" data-to="rejected">${t("approvals.reject")}</button></div></li>`;
}

function render() {
  const list = document.getElementById("pending");
  list.innerHTML = pending.length ? pending.map(item).join("") : `<li class="note">${t("approvals.empty")}</li>`;
  document.getElementById("selected-count").textContent = t("approvals.selected", { n: selected.size, total: pending.length });
  const all = document.getElementById("select-all");
  all.checked = pending.length > 0 && selected.size === pending.length;
  all.indeterminate = selected.size > 0 && selected.size < pending.length;
}

async function load() {
  const items = await attempt(() => apiAll("/trip-requests/pending-approval"));
  if (!items) return;
  pending = items;
  const ids = new Set(items.map((r) => r.id));
  for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
  render();
}

/** Approve or reject ``ids``; says what happened to each request that did not move. */
async function decide(ids, to, reason, button) {
  if (!ids.length) {
    say(t("approvals.noneSelected"), "error");
    return;
  }
  if (to === "rejected" && !reason) {
    say(t("approvals.reasonMissing"), "error");
    return;
  }
  const answer = await attempt(() => api("/trip-requests/transitions", { method: "POST", body: { ids, to, reason: reason || null } }), button);
  if (!answer) return;
  const refused = answer.results.filter((r) => !r.ok)
    .map((r) => t(`ad.${r.code}`, { id: r.id, state: label("rs.", r.state) }));
  const summary = t("approvals.result", { moved: answer.moved, state: label("rs.", to), refused: answer.refused });
  say(refused.length ? `${summary}${lang() === "zh" ? "：" : ": "}${refused.join(lang() === "zh" ? "；" : "; ")}` : summary,
    refused.length ? "error" : "ok");
  for (const r of answer.results) if (r.ok) selected.delete(r.id);
  await load();
}

document.getElementById("pending").addEventListener("change", (event) => {
  const box = event.target.closest(".pick");
  if (!box) return;
  const id = Number(box.closest("[data-request-id]").dataset.requestId);
  if (box.checked) selected.add(id);
  else selected.delete(id);
  render();
});

document.getElementById("pending").addEventListener("click", (event) => {
  const button = event.target.closest("[data-to]");
  if (!button) return;
  const row = button.closest("[data-request-id]");
  const reason = row.querySelector(".reason").value.trim();
  if (button.dataset.to === "rejected" && !reason) row.querySelector(".reason").focus();
  decide([Number(row.dataset.requestId)], button.dataset.to, reason, button);
});

document.getElementById("select-all").addEventListener("change", (event) => {
  selected.clear();
  if (event.target.checked) for (const r of pending) selected.add(r.id);
  render();
});

for (const [id, to] of [["approve-selected", "approved"], ["reject-selected", "rejected"]]) {
  const button = document.getElementById(id);
  button.addEventListener("click", () => decide([...selected], to, document.getElementById("batch-reason").value.trim(), button));
}

onLangChange(render);

async function main() {
  if (!(await attempt(() => startPage()))) return;
  await load();
  // refresh unless the approver is writing a reason in the list (a redraw would lose it)
  setInterval(() => {
    if (![...document.querySelectorAll("#pending .reason")].some((box) => box.value || box === document.activeElement)) load();
  }, 15000);
  document.body.dataset.ready = "true";
}

main();
