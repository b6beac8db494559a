// The live connection to /ws: positions, alerts and plan changes for the user's scope.
// It reconnects by itself; while the broker or the socket is down the page says
// "live updates unavailable" instead of pretending to be current.

import { onLangChange, t } from "./i18n.js";

export class LiveFeed {
  constructor(handlers = {}) {
    this.handlers = handlers;
    this.socket = null;
    this.retryMs = 1000;
    this.live = false;
    this.state = "connecting";
    onLangChange(() => this.showStatus(this.state)); // the banner in the new language
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.socket = socket;
    this.showStatus("connecting");
    socket.addEventListener("open", () => (this.retryMs = 1000));
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      this.live = false;
      this.showStatus("down");
      if (event.code === 4401) {
        window.location.href = "/login?next=" + encodeURIComponent(location.pathname);
        return;
      }
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 15000);
    });
  }

  receive(message) {
    if (message.type === "status" || message.type === "pong") {
      this.live = message.live;
      this.showStatus(message.live ? "live" : "down");
    }
    const handler = this.handlers[message.type];
    if (handler) handler(message);
  }

  /** Send a message; false when the socket is not open. */
  send(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  showStatus(state) {
    const banner = document.getElementById("live-status");
    this.state = state;
    if (!banner) return;
    banner.dataset.state = state;
    banner.textContent = state === "live" ? t("live.ok") : state === "connecting" ? t("live.connecting") : t("live.unavailable");
    banner.className = `live-status ${state}`;
  }
}
