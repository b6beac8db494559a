// Log in for a session cookie, then go where the user was heading (or their home page).

import { api } from "./api.js";
import { applyLabels, lang, setLang, t } from "./i18n.js";
import { say } from "./ui.js";

const HOME = { admin: "/", dispatcher: "/", auditor: "/", driver: "/driver", requester: "/requests", approver: "/approvals" };

applyLabels();
document.getElementById("lang-switch").addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("login-submit");
  button.disabled = true;
  try {
    const me = await api("/auth/login", {
      method: "POST",
      form: { username: document.getElementById("username").value, password: document.getElementById("password").value },
    });
    const next = new URLSearchParams(location.search).get("next");
    window.location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : HOME[me.role] || "/";
  } catch (error) {
    say(t("login.failed", { detail: error.message }), "error");
  } finally {
    button.disabled = false;
  }
});
