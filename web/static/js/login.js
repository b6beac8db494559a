// Log in for a session cookie, then go where the user was heading (or their home page).

import { api } from "./api.js";
import { applyLabels, lang, setLang, t } from "./i18n.js";
import { say } from "./ui.js";

const HOME = { admin: "/", dispatcher: "/", auditor: "/", driver: "/driver", requester: "/requests", approver: "/approvals" };

/** The absolute address of `next` when it resolves to this origin, else null. Browsers read
 * "//host" and "/\host" as another host, so only the resolved origin counts, and the absolute
 * address is followed (a path such as "/.//host" resolves to "//host" here, another host there). */
function localTarget(next) {
  if (!next || !next.startsWith("/")) return null;
  const target = new URL(next, location.origin);
  return target.origin === location.origin ? target.href : null;
}

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
    window.location.href = localTarget(new URLSearchParams(location.search).get("next")) || HOME[me.role] || "/";
  } catch (error) {
    say(t("login.failed", { detail: error.message }), "error");
  } finally {
    button.disabled = false;
  }
});
