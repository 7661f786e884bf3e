// Sign-in and sign-out: GET /v1/info (the dev token form shows only when the server says
// `dev: true`), the token form, the connection's state in the top bar, and the server's reason
// when it refuses a token.
import { Connection } from "./connection.js";
import { learnName, reset, set, state } from "./state.js";
import { $, announce, roleName, showError } from "./ui.js";

const TOKEN_KEY = "liaison.token";
let hooks = { onEvent() {}, onSynced() {}, onSignedOut() {} };

/** Asks the server what it offers; shows the dev form only on a `--dev` server. */
export async function loadInfo() {
  try {
    const res = await fetch("/v1/info", { cache: "no-store" });
    if (res.ok) state.info = await res.json();
  } catch (e) {
    console.warn("GET /v1/info:", e.message);
  }
  $("dev-form").hidden = !state.info?.dev;
  return state.info;
}

/** Wires the forms; `onEvent(frame)` gets server events, `onSynced()` runs after every (re)connect's catch-up. */
export function initSignIn(h) {
  hooks = { ...hooks, ...h };
  $("dev-form").addEventListener("submit", devToken);
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = $("token").value.trim();
    if (token) signIn(token);
  });
  $("signout").addEventListener("click", () => signOut());
  $("retry").addEventListener("click", () => state.conn?.retryNow());
}

/** Signs in again with the token this tab used last, if any. */
export function resumeSession() {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (!saved) return;
  $("token").value = saved;
  signIn(saved);
}

async function devToken(ev) {
  ev.preventDefault();
  const err = $("dev-error");
  showError(err, "");
  const q = new URLSearchParams({
    sub: $("dev-user").value.trim(),
    role: $("dev-role").value,
    tenant: $("dev-tenant").value.trim(),
    name: $("dev-name").value.trim(),
    areas: $("dev-areas").value.split(",").map((s) => s.trim()).filter(Boolean).join(","),
  });
  try {
    const res = await fetch("/dev/token?" + q, { cache: "no-store" });
    const body = await res.json();
    if (!res.ok || !body.token) throw new Error(body.message || `HTTP ${res.status}`);
    $("token").value = body.token;
    $("token-form").querySelector("button[type=submit]").focus();
    announce("Dev token ready: press Sign in.");
  } catch (e) {
    showError(err, "Could not get a dev token: " + e.message);
  }
}

/** The token's claims, unverified: only to show who is signing in before the server answers. */
function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

function signIn(token) {
  showError($("signin-error"), "");
  const claims = claimsOf(token);
  state.me = { user: claims.sub, role: claims.role, tenant: claims.tenant, name: claims.name, areas: claims.areas || [] };
  const path = state.info?.ws_path || "/ws";
  // This server first, then the other nodes of its cluster (if it is one) to reconnect to when it is gone.
  const here = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  const urls = [here, ...(state.info?.ws_urls || []).filter((url) => url !== here)];
  const conn = new Connection(urls, token, state.device);
  set("conn", conn);
  conn.addEventListener("state", (ev) => connectionState(conn, ev.detail));
  conn.addEventListener("event", (ev) => hooks.onEvent(ev.detail));
  $("conn-status").textContent = "Connecting…";
  conn.start();
}

/** Back to the sign-in page; `message` (e.g. why the token was refused) shows there. */
function signOut(message) {
  state.conn?.stop();
  hooks.onSignedOut();
  sessionStorage.removeItem(TOKEN_KEY);
  reset();
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signout").hidden = true;
  $("whoami").hidden = true;
  $("retry").hidden = true;
  const status = $("conn-status");
  status.textContent = "Signed out";
  delete status.dataset.state;
  showError($("signin-error"), message);
  if (message) $("token").focus();
}

function connectionState(conn, detail) {
  if (conn !== state.conn) return;
  const status = $("conn-status");
  $("retry").hidden = detail.state !== "waiting";
  switch (detail.state) {
    case "connecting":
      status.textContent = detail.attempt ? "Reconnecting…" : "Connecting…";
      break;
    case "syncing":
      state.me.user = detail.hello.user;
      state.me.role = detail.hello.role;
      state.watched.clear();
      sessionStorage.setItem(TOKEN_KEY, conn.token);
      status.textContent = "Catching up…";
      showApp();
      break;
    case "ready":
      status.textContent = "Connected";
      status.dataset.state = "ok";
      hooks.onSynced();
      break;
    case "waiting":
      status.textContent = `Disconnected: reconnecting in ${Math.ceil(detail.delay / 1000)} s`;
      status.dataset.state = "down";
      break;
    case "closed":
      if (detail.code === 4401) {
        // The server's own reason, e.g. "token expired" or "token rejected: bad signature".
        signOut(`${state.me.signedInOnce ? "Signed out" : "Sign-in failed"}: ${detail.reason}.`);
      } else if (detail.code) {
        status.textContent = "Disconnected: " + detail.reason;
        status.dataset.state = "down";
      }
      break;
  }
}

function showApp() {
  const me = state.me;
  me.signedInOnce = true;
  learnName(me.user, me.name);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("signout").hidden = false;
  $("whoami").hidden = false;
  $("whoami").textContent = `${me.name || me.user} · ${roleName(me.role)}`;
  $("me-line").textContent = `${me.name || me.user}, ${roleName(me.role).toLowerCase()}${me.tenant ? " at " + me.tenant : ""}` +
    (me.areas?.length ? ` · areas: ${me.areas.join(", ")}` : "");
  set("me", me);
}
