// The agency's approver approves submitted requests, or rejects them with a reason.

import { api, apiAll } from "./api.js";
import { label, onLangChange, t } from "./i18n.js";
import { attempt, esc, formatTime, say, startPage } from "./ui.js";

let pending = [];

function render() {
  const list = document.getElementById("pending");
  list.innerHTML = pending.length ? pending.map((r) => `<li data-request-id="${r.id}">
      <b>#${r.id}</b> ${formatTime(r.pickup_earliest, true)}–${formatTime(r.pickup_latest)} ${esc(r.purpose)}
      · ${r.passengers}${r.vehicle_class ? " · " + esc(label("vc.", r.vehicle_class)) : ""}${r.nev_required ? " · NEV" : ""}
      <div class="sub">${esc(r.origin_address)} → ${esc(r.destination_address)}</div>
      <div class="row"><button type="button" class="primary" data-to="approved">${t("approvals.approve")}</button>
        <input class="reason" placeholder="${t("approvals.reason")}">
        <button type="button" data-to="rejected">${t("approvals.reject")}</button></div></li>`).join("")
    : `<li class="note">${t("approvals.empty")}</li>`;
}

async function load() {
  const items = await attempt(() => apiAll("/trip-requests", { state: "submitted" }));
  if (items) {
    pending = items;
    render();
  }
}

document.getElementById("pending").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-to]");
  if (!button) return;
  const item = button.closest("[data-request-id]");
  const to = button.dataset.to;
  const reason = item.querySelector(".reason").value.trim();
  if (to === "rejected" && !reason) {
    say(t("approvals.reasonMissing"), "error");
    item.querySelector(".reason").focus();
    return;
  }
  const done = await attempt(() => api(`/trip-requests/${item.dataset.requestId}/transitions`,
    { method: "POST", body: { to, reason: reason || null } }), button);
  if (!done) return;
  say(t("approvals.done", { id: done.id, state: label("rs.", done.state) }), "ok");
  load();
});

onLangChange(render);

async function main() {
  if (!(await attempt(() => startPage()))) return;
  await load();
  setInterval(load, 15000);
  document.body.dataset.ready = "true";
}

main();
