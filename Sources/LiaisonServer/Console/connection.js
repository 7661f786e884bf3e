// The Liaison wire protocol v1 over one WebSocket: hello, request/reply by id,
// server events, and automatic reconnect with exponential backoff (re-hello each time).

const REQUEST_TIMEOUT_MS = 15000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSE_CODES = new Map([
  [4401, "the token was refused"],
  [4409, "this device signed in again elsewhere"],
]);

export class ProtocolError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

export class Connection extends EventTarget {
  /**
   * @param {string|string[]} urls ws:// or wss:// URL of /ws, or several (the nodes of a cluster): the
   *                               first is tried first, and each reconnect after a failure tries the next
   * @param {string} token JWT
   * @param {string} device this tab's device id
   */
  constructor(urls, token, device) {
    super();
    this.urls = Array.isArray(urls) ? urls : [urls];
    this.urlIndex = 0;
    this.url = this.urls[0];
    this.token = token;
    this.device = device;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.attempt = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.state = "idle"; // idle | connecting | syncing | ready | waiting | closed
    this.session = null;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  /** Closes for good: no reconnect. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000, "signed out");
    this.setState("closed");
  }

  /** Reconnects now (skipping the backoff wait), e.g. when the user asks to. */
  retryNow() {
    if (this.stopped || this.state !== "waiting") return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...detail } }));
  }

  open() {
    this.setState("connecting", { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url, "liaison.v1");
    } catch (err) {
      this.scheduleRetry(String(err));
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => this.hello(ws));
    ws.addEventListener("message", (ev) => this.receive(ev.data));
    ws.addEventListener("close", (ev) => this.closed(ws, ev));
  }

  async hello(ws) {
    try {
      const ok = await this.request("hello", { token: this.token, device: this.device, client: "liaison-console/1" });
      if (ws !== this.ws) return;
      this.session = ok;
      this.setState("syncing", { hello: ok });
    } catch (err) {
      // unauthorized is followed by close 4401 (keep the server's reason for it, e.g. "token
      // expired"); anything else: let the close handler retry.
      if (ws !== this.ws) return;
      if (err.code === "unauthorized") this.refusal = err.message;
      else ws.close(4000, "hello failed");
    }
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if ((frame.type === "ok" || frame.type === "error") && frame.id != null && this.pending.has(frame.id)) {
      const p = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      clearTimeout(p.timer);
      if (frame.type === "ok") p.resolve(frame);
      else p.reject(new ProtocolError(frame.code, frame.message));
      return;
    }
    if (frame.type === "synced") {
      this.attempt = 0;
      this.setState("ready");
    }
    this.dispatchEvent(new CustomEvent("event", { detail: frame }));
  }

  closed(ws, ev) {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ProtocolError("disconnected", "the connection closed"));
    }
    this.pending.clear();
    if (this.stopped) return;
    const final = FINAL_CLOSE_CODES.get(ev.code);
    if (final) {
      this.stopped = true;
      this.setState("closed", { code: ev.code, reason: (ev.code === 4401 && this.refusal) || final });
      return;
    }
    this.scheduleRetry(ev.reason || `closed (${ev.code})`);
  }

  /** Drops the connection and stays offline for `ms` (to try offline catch-up), then reconnects as usual. */
  simulateOffline(ms) {
    this.offlineUntil = Date.now() + ms;
    if (this.ws) this.ws.close(4000, "simulated network loss");
  }

  scheduleRetry(reason) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = Math.max(Math.round(base / 2 + Math.random() * (base / 2)), (this.offlineUntil || 0) - Date.now());
    this.attempt += 1;
    // With several nodes, the next try goes to the next one (any node serves the whole protocol).
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.url = this.urls[this.urlIndex];
    this.setState("waiting", { delay, reason, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Sends a request; resolves with the `ok` frame, rejects with a ProtocolError. */
  request(type, fields = {}) {
    return new Promise((resolve, reject) => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        reject(new ProtocolError("disconnected", "not connected"));
        return;
      }
      const id = String(this.nextId++);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError("timeout", `no answer to ${type}`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  get ready() {
    return this.state === "ready";
  }
}
