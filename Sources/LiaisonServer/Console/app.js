// Liaison console: sign-in, presence, rooms and chat, MOD (ask an expert / expert inbox), calls.
import { Connection } from "./connection.js";
import { Call } from "./call.js";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
};

const STATUSES = ["online", "away", "busy", "dnd", "offline"];
const HISTORY_PAGE = 50;
const TYPING_SHOW_MS = 4000;
const TYPING_SEND_EVERY_MS = 2500;

// ------------------------------------------------------------------ state

const state = {
  conn: null,
  me: null, // {user, role, tenant, name, areas}
  device: "web-" + Math.random().toString(36).slice(2, 10),
  names: new Map(), // user -> display name
  presence: new Map(), // user -> {status, note, devices, last_seen} | {error}
  watched: new Set(), // users watched on the current connection
  manualContacts: new Set(),
  rooms: new Map(), // room -> {room, kind, title, members, last_seq, unread}
  messages: new Map(), // room -> Map(seq -> msg)
  oldestLoaded: new Map(), // room -> lowest seq loaded
  reads: new Map(), // room -> Map(user -> seq)
  typing: new Map(), // room -> Map(user -> expiresAt)
  openRoom: null,
  myStatus: "online",
  ackTimers: new Map(),
  acked: new Map(), // room -> seq acked
  readSent: new Map(), // room -> seq read
  lastTypingSent: 0,
  requests: new Map(), // my MOD requests: request -> {request, area, question, mode, status, by, room}
  offers: new Map(), // offers to me: request -> {...offer, state: open|claiming|won|taken|withdrawn|expired}
  call: null, // current Call
  rings: new Map(), // call id -> Call (incoming, not yet answered)
  lastCall: null,
  unlisted: [], // messages of rooms not (yet) in state.rooms
  listing: null, // a room.list in flight for them
};

// For tests and the curious: window.liaison.pc is the live RTCPeerConnection.
window.liaison = {
  get pc() {
    return state.call && state.call.status !== "ended" ? state.call.pc : null;
  },
  get call() {
    return state.call;
  },
  get conn() {
    return state.conn;
  },
  state,
  /** Simulates a network loss of `ms` milliseconds (then the usual reconnect and catch-up). */
  goOffline(ms = 3000) {
    if (state.conn) state.conn.simulateOffline(ms);
  },
  /** framesDecoded summed over inbound video streams of the live call. */
  async inboundVideoFrames() {
    const pc = window.liaison.pc;
    if (!pc) return 0;
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && (s.kind || s.mediaType) === "video") frames += s.framesDecoded || 0;
    });
    return frames;
  },
};

function announce(text) {
  const a = $("announcer");
  a.textContent = "";
  // A fresh text node so screen readers announce repeated messages too.
  setTimeout(() => (a.textContent = text), 30);
}

function displayName(user) {
  if (!user) return "";
  if (state.me && user === state.me.user) return "you";
  return state.names.get(user) || user;
}

function learnName(user, name) {
  if (user && name && !state.names.has(user)) {
    state.names.set(user, name);
    renderContacts();
  }
}

function decodeToken(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="))
        .split("")
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fmtDuration = (ms) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
};

// ------------------------------------------------------------------ sign-in

async function probeDev() {
  try {
    const res = await fetch("/dev/token", { cache: "no-store" });
    // --dev answers 400 (sub, tenant and role are required); without --dev: 404.
    if (res.status !== 404) $("dev-form").hidden = false;
  } catch {
    /* no dev form */
  }
}

$("dev-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = $("dev-error");
  err.hidden = true;
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
    err.textContent = "Could not get a dev token: " + e.message;
    err.hidden = false;
  }
});

$("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  signIn(token);
});

$("signout").addEventListener("click", () => signOut());
$("retry").addEventListener("click", () => state.conn && state.conn.retryNow());

function wsURL() {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
}

function signIn(token) {
  $("signin-error").hidden = true;
  const claims = decodeToken(token);
  state.me = { user: claims.sub, role: claims.role, tenant: claims.tenant, name: claims.name, areas: claims.areas || [] };
  const conn = new Connection(wsURL(), token, state.device);
  state.conn = conn;
  conn.addEventListener("state", (ev) => connectionState(conn, ev.detail));
  conn.addEventListener("event", (ev) => serverEvent(ev.detail));
  $("conn-status").textContent = "Connecting…";
  conn.start();
}

function signOut(message) {
  if (state.conn) state.conn.stop();
  state.conn = null;
  if (state.call) state.call.end("signed out");
  for (const c of state.rings.values()) c.end("signed out");
  state.rings.clear();
  sessionStorage.removeItem("liaison.token");
  resetData();
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signout").hidden = true;
  $("whoami").hidden = true;
  $("retry").hidden = true;
  $("conn-status").textContent = "Signed out";
  if (message) {
    $("signin-error").textContent = message;
    $("signin-error").hidden = false;
  }
  renderRings();
  renderCall();
  renderAll();
}

function renderAll() {
  renderContacts();
  renderRooms();
  renderRoomHeader();
  renderMessages();
  renderTyping();
  renderRequests();
  renderOffers();
}

function resetData() {
  for (const k of ["presence", "watched", "manualContacts", "rooms", "messages", "oldestLoaded", "reads", "typing", "acked", "readSent", "requests", "offers"]) state[k].clear();
  state.openRoom = null;
  state.myStatus = "online";
  $("status").value = "online";
}

function connectionState(conn, detail) {
  if (conn !== state.conn) return;
  const status = $("conn-status");
  $("retry").hidden = detail.state !== "waiting";
  switch (detail.state) {
    case "connecting":
      status.textContent = detail.attempt ? "Reconnecting…" : "Connecting…";
      break;
    case "syncing": {
      const hello = detail.hello;
      state.me.user = hello.user;
      state.me.role = hello.role;
      state.watched.clear();
      sessionStorage.setItem("liaison.token", conn.token);
      status.textContent = "Catching up…";
      showApp();
      break;
    }
    case "ready":
      status.textContent = "Connected";
      status.dataset.state = "ok";
      afterSync();
      break;
    case "waiting":
      status.textContent = `Disconnected: reconnecting in ${Math.ceil(detail.delay / 1000)} s`;
      status.dataset.state = "down";
      break;
    case "closed":
      if (detail.code === 4401 && !state.me.signedInOnce) {
        signOut("Sign-in failed: " + detail.reason + ".");
      } else if (detail.code) {
        status.textContent = "Disconnected: " + detail.reason;
        status.dataset.state = "down";
        if (detail.code === 4401) signOut("Signed out: " + detail.reason + " (expired?).");
      }
      break;
  }
}

function showApp() {
  state.me.signedInOnce = true;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("signout").hidden = false;
  const me = state.me;
  learnName(me.user, me.name);
  $("whoami").hidden = false;
  $("whoami").textContent = `${me.name || me.user} · ${me.role} · ${me.tenant || ""}`;
  $("me-line").textContent = `${me.name || me.user} (${me.user}), ${me.role}${me.areas && me.areas.length ? " · areas: " + me.areas.join(", ") : ""}`;
  $("ask").hidden = !(me.role === "hcp" || me.role === "msl");
  $("inbox").hidden = me.role !== "fmd";
}

/** After every (re)connect's `synced`: refresh rooms, presence, the open room. */
async function afterSync() {
  const conn = state.conn;
  if (state.myStatus !== "online") conn.request("presence.set", { status: state.myStatus }).catch(() => {});
  await refreshRooms();
  watchContacts();
  // Catch up rooms whose cached messages fell behind while we were away (another device of
  // ours may have acked them, so the replay before `synced` need not contain them).
  for (const [room, msgs] of state.messages) {
    const last = state.rooms.get(room)?.last_seq || 0;
    const have = msgs.size ? Math.max(...msgs.keys()) : 0;
    if (last <= have) continue;
    if (room !== state.openRoom) {
      state.messages.delete(room); // reloaded when opened
      state.oldestLoaded.delete(room);
      continue;
    }
    const ok = await state.conn.request("room.history", { room, limit: 100 }).catch(() => null);
    if (!ok) continue;
    if (ok.messages.length && ok.messages[0].seq > have + 1) {
      state.messages.delete(room); // a gap: keep the newest page only
      state.oldestLoaded.delete(room);
    }
    mergeHistory(room, ok.messages);
  }
  if (state.openRoom) {
    if (!state.messages.has(state.openRoom)) await loadLatest(state.openRoom);
    renderMessages();
    markRead();
  }
}

// ------------------------------------------------------------------ server events

function serverEvent(ev) {
  switch (ev.type) {
    case "presence":
      state.presence.set(ev.user, ev);
      renderContacts();
      renderRoomHeader();
      break;
    case "msg":
      onMessage(ev);
      break;
    case "receipt": {
      if (!state.reads.has(ev.room)) state.reads.set(ev.room, new Map());
      const r = state.reads.get(ev.room);
      r.set(ev.user, Math.max(r.get(ev.user) || 0, ev.seq));
      if (ev.room === state.openRoom) renderMessages();
      break;
    }
    case "typing": {
      if (!state.typing.has(ev.room)) state.typing.set(ev.room, new Map());
      state.typing.get(ev.room).set(ev.user, Date.now() + TYPING_SHOW_MS);
      renderTyping();
      setTimeout(renderTyping, TYPING_SHOW_MS + 50);
      break;
    }
    case "room.member":
      refreshRooms().then(watchContacts);
      if (ev.user !== state.me.user) announce(`${displayName(ev.user)} ${ev.action} ${roomName(state.rooms.get(ev.room))}`);
      break;
    case "mod.offer":
      onOffer(ev);
      break;
    case "mod.taken":
    case "mod.withdrawn": {
      const offer = state.offers.get(ev.request);
      if (offer && offer.state !== "won") {
        offer.state = ev.type === "mod.taken" ? "taken" : ev.reason === "expired" ? "expired" : "withdrawn";
        renderOffers();
        announce(`Request in ${offer.area} ${offer.state}.`);
      }
      break;
    }
    case "mod.claimed":
      onClaimed(ev);
      break;
    case "mod.expired": {
      const r = state.requests.get(ev.request);
      if (r) {
        r.status = "expired";
        renderRequests();
      }
      announce("No expert claimed your request in time.");
      break;
    }
    case "call.ring":
      onRing(ev);
      break;
    case "call.accepted":
      if (state.call && state.call.id === ev.call) state.call.accepted(ev).catch((e) => callFailed(state.call, e));
      break;
    case "call.candidate": {
      const call = findCall(ev.call);
      if (call) call.remoteCandidate(ev.candidate);
      break;
    }
    case "call.sdp":
      if (state.call && state.call.id === ev.call) state.call.remoteDescription(ev.description).catch((e) => console.warn("call.sdp:", e));
      break;
    case "call.ended":
      onCallEnded(ev);
      break;
    default:
      break;
  }
}

// ------------------------------------------------------------------ rooms and chat

function roomName(room) {
  if (!room) return "";
  if (room.title) return room.title;
  const others = (room.members || []).filter((m) => m !== state.me.user);
  if (room.kind === "direct") return others.length ? displayName(others[0]) : "direct";
  return others.map(displayName).join(", ") || room.kind;
}

async function refreshRooms() {
  try {
    const ok = await state.conn.request("room.list");
    const seen = new Set();
    for (const r of ok.rooms) {
      seen.add(r.room);
      const prev = state.rooms.get(r.room);
      // The open room is being read right now: unread stays 0.
      const unread = r.room === state.openRoom && document.visibilityState === "visible" ? 0 : r.unread;
      state.rooms.set(r.room, { ...prev, ...r, unread });
    }
    for (const id of [...state.rooms.keys()]) if (!seen.has(id)) state.rooms.delete(id);
  } catch (e) {
    console.warn("room.list:", e.message);
  }
  renderRooms();
  renderRoomHeader();
}

/** A `msg` event. `listed`: room.list was fetched after it arrived, so its unread count includes it. */
function onMessage(m, listed = false) {
  const known = state.rooms.get(m.room);
  if (!known) {
    // A room we have not listed yet (new, or replayed before room.list): list once, then deliver.
    state.unlisted.push(m);
    if (!state.listing) {
      state.listing = refreshRooms().then(() => {
        state.listing = null;
        watchContacts();
        const held = state.unlisted;
        state.unlisted = [];
        for (const h of held) if (state.rooms.has(h.room)) onMessage(h, true);
      });
    }
    return;
  }
  known.last_seq = Math.max(known.last_seq || 0, m.seq);
  let msgs = state.messages.get(m.room);
  const isNew = !msgs || !msgs.has(m.seq);
  if (msgs) msgs.set(m.seq, m);
  else if (m.room === state.openRoom) {
    msgs = new Map([[m.seq, m]]);
    state.messages.set(m.room, msgs);
  }
  if (state.typing.has(m.room)) state.typing.get(m.room).delete(m.from);
  scheduleAck(m.room, m.seq);
  const mine = m.from === state.me.user;
  if (m.room === state.openRoom) {
    renderMessages(true);
    renderTyping();
    markRead();
  }
  if (isNew && !mine && (m.room !== state.openRoom || document.visibilityState !== "visible")) {
    if (!listed && m.seq > (state.readSent.get(m.room) || 0)) known.unread = (known.unread || 0) + 1;
    if (m.room !== state.openRoom && m.kind !== "system") announce(`New message from ${displayName(m.from)} in ${roomName(known)}`);
  }
  renderRooms();
}

function scheduleAck(room, seq) {
  if (seq <= (state.acked.get(room) || 0)) return;
  clearTimeout(state.ackTimers.get(room));
  state.ackTimers.set(
    room,
    setTimeout(() => {
      const msgs = state.messages.get(room);
      const top = Math.max(seq, state.rooms.get(room)?.last_seq || 0, msgs ? Math.max(...msgs.keys()) : 0);
      state.conn
        ?.request("msg.ack", { room, seq: top })
        .then(() => state.acked.set(room, Math.max(state.acked.get(room) || 0, top)))
        .catch((e) => console.warn("msg.ack:", e.message));
    }, 200),
  );
}

/** Tells the others we read the open room (when this tab is visible). */
function markRead() {
  const room = state.openRoom;
  if (!room || document.visibilityState !== "visible" || !state.conn?.ready) return;
  const info = state.rooms.get(room);
  const msgs = state.messages.get(room);
  const top = Math.max(info?.last_seq || 0, msgs && msgs.size ? Math.max(...msgs.keys()) : 0);
  if (info) info.unread = 0;
  renderRooms();
  if (!top || top <= (state.readSent.get(room) || 0)) return;
  state.readSent.set(room, top);
  state.conn.request("msg.read", { room, seq: top }).catch((e) => {
    state.readSent.delete(room);
    console.warn("msg.read:", e.message);
  });
  scheduleAck(room, top);
}

document.addEventListener("visibilitychange", () => markRead());

// Keep the log pinned to the newest message while it is resized (call panel, videos, window).
let logAtBottom = true;
$("log").addEventListener("scroll", () => {
  const log = $("log");
  logAtBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
});
new ResizeObserver(() => {
  if (logAtBottom) $("log").scrollTop = $("log").scrollHeight;
}).observe($("log"));
window.addEventListener("focus", () => markRead());

async function openRoom(room) {
  state.openRoom = room;
  renderRooms();
  renderRoomHeader();
  renderMessages();
  renderTyping();
  if (!state.messages.has(room)) {
    await loadLatest(room);
  }
  if (state.openRoom !== room) return;
  renderMessages();
  markRead();
  $("message").focus();
}

async function loadLatest(room) {
  try {
    const ok = await state.conn.request("room.history", { room, limit: HISTORY_PAGE });
    mergeHistory(room, ok.messages);
  } catch (e) {
    console.warn("room.history:", e.message);
  }
}

function mergeHistory(room, messages) {
  if (!state.messages.has(room)) state.messages.set(room, new Map());
  const msgs = state.messages.get(room);
  for (const m of messages) msgs.set(m.seq, m);
  const lowest = messages.length ? messages[0].seq : state.rooms.get(room)?.last_seq ? 1 : 1;
  const prev = state.oldestLoaded.get(room);
  state.oldestLoaded.set(room, prev == null ? lowest : Math.min(prev, lowest));
  if (!messages.length && msgs.size === 0) state.oldestLoaded.set(room, 1);
  if (msgs.size) {
    const info = state.rooms.get(room);
    if (info) info.last_seq = Math.max(info.last_seq || 0, ...msgs.keys());
  }
}

$("older").addEventListener("click", async () => {
  const room = state.openRoom;
  if (!room) return;
  const before = state.oldestLoaded.get(room);
  const log = $("log");
  const fromBottom = log.scrollHeight - log.scrollTop;
  $("older").disabled = true;
  try {
    const ok = await state.conn.request("room.history", { room, before, limit: HISTORY_PAGE });
    mergeHistory(room, ok.messages);
    if (!ok.messages.length) state.oldestLoaded.set(room, 1);
  } catch (e) {
    announce("Could not load older messages: " + e.message);
  } finally {
    $("older").disabled = false;
  }
  renderMessages();
  log.scrollTop = log.scrollHeight - fromBottom;
});

$("send-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("message");
  const body = input.value;
  const room = state.openRoom;
  if (!body.trim() || !room) return;
  const client_msg_id = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
  input.value = "";
  try {
    await sendWithRetry(room, body, client_msg_id);
  } catch (e) {
    if (!input.value) input.value = body;
    announce("Message not sent: " + e.message);
  }
});

/** msg.send, retried with the same client_msg_id across a reconnect (the server dedupes). */
async function sendWithRetry(room, body, client_msg_id) {
  for (let attempt = 0; ; attempt++) {
    try {
      const ok = await state.conn.request("msg.send", { room, body, client_msg_id });
      // Our own message counts as read by us.
      state.lastTypingSent = 0;
      if (room === state.openRoom) markRead();
      return ok;
    } catch (e) {
      if (e.code !== "disconnected" && e.code !== "timeout") throw e;
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
    }
  }
}

$("message").addEventListener("input", () => {
  const room = state.openRoom;
  const now = Date.now();
  if (!room || !$("message").value || now - state.lastTypingSent < TYPING_SEND_EVERY_MS || !state.conn?.ready) return;
  state.lastTypingSent = now;
  state.conn.request("typing", { room }).catch(() => {});
});

$("newroom-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const users = $("newroom-users").value.split(/[\s,]+/).filter(Boolean);
  if (!users.length) return;
  try {
    const ok = await state.conn.request("room.create", { kind: users.length === 1 ? "direct" : "group", members: users });
    $("newroom-users").value = "";
    await refreshRooms();
    watchContacts();
    openRoom(ok.room);
  } catch (e) {
    announce(`Could not start the chat: ${e.message}`);
    $("newroom-users").setCustomValidity(e.message);
    $("newroom-users").reportValidity();
    setTimeout(() => $("newroom-users").setCustomValidity(""), 3000);
  }
});

// ------------------------------------------------------------------ presence

$("status").addEventListener("change", async () => {
  const status = $("status").value;
  state.myStatus = status;
  try {
    await state.conn.request("presence.set", { status });
    announce(`Your status is ${status}.`);
  } catch (e) {
    announce("Status not changed: " + e.message);
  }
});

$("watch-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const user = $("watch-user").value.trim();
  if (!user) return;
  state.manualContacts.add(user);
  $("watch-user").value = "";
  await watch(user);
  renderContacts();
});

function contactIds() {
  const ids = new Set(state.manualContacts);
  for (const r of state.rooms.values()) for (const m of r.members || []) if (m !== state.me.user) ids.add(m);
  return [...ids].sort();
}

function watchContacts() {
  for (const user of contactIds()) if (!state.watched.has(user)) watch(user);
  renderContacts();
}

async function watch(user) {
  if (!state.conn?.ready) return;
  state.watched.add(user);
  try {
    const ok = await state.conn.request("presence.watch", { users: [user] });
    for (const p of ok.presence) state.presence.set(p.user, p);
  } catch (e) {
    state.presence.set(user, { user, error: e.code === "not_found" ? "unknown user" : e.code === "forbidden" ? "not visible to you" : e.message });
    if (e.code === "disconnected" || e.code === "timeout") state.watched.delete(user);
  }
  renderContacts();
  renderRoomHeader();
}

function statusOf(user) {
  const p = state.presence.get(user);
  if (!p) return { status: "unknown", text: "…" };
  if (p.error) return { status: "unknown", text: p.error };
  return { status: p.status, text: p.status + (p.note ? ` — ${p.note}` : "") };
}

// ------------------------------------------------------------------ MOD

$("ask-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const area = $("ask-area").value.trim();
  const question = $("ask-question").value.trim();
  const mode = $("ask-mode").value;
  if (!area || !question) return;
  try {
    const ok = await state.conn.request("mod.request", { area, question, mode });
    state.requests.set(ok.request, { request: ok.request, area, question, mode, offered: ok.offered, status: "waiting" });
    $("ask-question").value = "";
    renderRequests();
    announce(ok.offered ? `Your question went to ${ok.offered} expert${ok.offered === 1 ? "" : "s"}.` : "No expert is available right now; your question waits for one.");
  } catch (e) {
    announce("Could not ask: " + e.message);
    state.requests.set("failed-" + Date.now(), { area, question, mode, status: "failed: " + e.message });
    renderRequests();
  }
});

function onOffer(ev) {
  learnName(ev.from?.user, ev.from?.name);
  const prev = state.offers.get(ev.request);
  if (prev && prev.state !== "open") return;
  state.offers.set(ev.request, { ...ev, state: "open" });
  renderOffers();
  announce(`New ${ev.mode} request in ${ev.area} from ${ev.from?.name || ev.from?.user}.`);
}

async function claim(request) {
  const offer = state.offers.get(request);
  if (!offer || offer.state !== "open") return;
  offer.state = "claiming";
  renderOffers();
  try {
    const ok = await state.conn.request("mod.claim", { request });
    offer.state = "won";
    offer.room = ok.room;
    renderOffers();
    announce(`You claimed the request from ${offer.from?.name || offer.from?.user}.`);
    await refreshRooms();
    watchContacts();
    await openRoom(ok.room);
    if (offer.mode === "call") startCall("video");
  } catch (e) {
    offer.state = e.code === "already_claimed" ? "taken" : e.code === "expired" || e.code === "not_found" ? "expired" : "open";
    renderOffers();
    if (offer.state === "open") announce("Claim failed: " + e.message);
  }
}

async function decline(request) {
  const offer = state.offers.get(request);
  if (!offer) return;
  try {
    await state.conn.request("mod.decline", { request });
  } catch (e) {
    console.warn("mod.decline:", e.message);
  }
  state.offers.delete(request);
  renderOffers();
}

async function cancelRequest(request) {
  try {
    await state.conn.request("mod.cancel", { request });
    const r = state.requests.get(request);
    if (r) r.status = "cancelled";
  } catch (e) {
    announce("Could not cancel: " + e.message);
  }
  renderRequests();
}

async function onClaimed(ev) {
  learnName(ev.by?.user, ev.by?.name);
  let r = state.requests.get(ev.request);
  if (!r) {
    r = { request: ev.request, area: "", question: "", mode: ev.mode };
    state.requests.set(ev.request, r);
  }
  r.status = "claimed";
  r.by = ev.by;
  r.room = ev.room;
  renderRequests();
  announce(`${ev.by?.name || ev.by?.user} claimed your question${ev.mode === "call" ? " and will call you" : ""}.`);
  await refreshRooms();
  watchContacts();
  await openRoom(ev.room);
}

// ------------------------------------------------------------------ calls

async function iceServers() {
  try {
    const ok = await state.conn.request("turn.credentials");
    const urls = Array.isArray(ok.urls) ? ok.urls : [ok.urls];
    return urls.length ? [{ urls, username: ok.username, credential: ok.credential }] : [];
  } catch {
    return []; // not_found: no TURN configured; host candidates only
  }
}

function findCall(id) {
  if (state.call && state.call.id === id) return state.call;
  return state.rings.get(id) || null;
}

function peerOf(room) {
  const r = state.rooms.get(room);
  const others = (r?.members || []).filter((m) => m !== state.me.user);
  return others.map(displayName).join(", ") || "the room";
}

function adoptCall(call) {
  state.call = call;
  state.lastCall = call;
  call.addEventListener("change", () => {
    renderCall();
    if (call.status === "ended") setTimeout(() => {
      if (state.call === call) {
        state.call = null;
        renderCall();
      }
    }, 4000);
  });
  call.addEventListener("streams", () => renderStreams());
  renderCall();
  renderStreams();
}

async function startCall(media) {
  const room = state.openRoom;
  if (!room || (state.call && state.call.status !== "ended")) return;
  const call = new Call({ conn: state.conn, room, media, side: "caller", iceServers: await iceServers(), peer: peerOf(room) });
  adoptCall(call);
  try {
    await call.place();
  } catch (e) {
    callFailed(call, e);
  }
}

function callFailed(call, e) {
  if (!call) return;
  console.warn("call failed:", e);
  const reason = e.code === "busy" ? "busy" : e.message || String(e);
  announce("Call failed: " + reason);
  call.end(reason);
}

function onRing(ev) {
  if (findCall(ev.call)) return;
  learnName(ev.from?.user, ev.from?.name);
  const call = new Call({
    conn: state.conn,
    room: ev.room,
    media: ev.media,
    side: "callee",
    iceServers: [],
    peer: ev.from?.name || ev.from?.user,
    id: ev.call,
    offer: ev.sdp,
  });
  call.from = ev.from;
  state.rings.set(ev.call, call);
  renderRings();
  announce(`Incoming ${ev.media} call from ${call.peer}.`);
}

async function acceptRing(id) {
  const call = state.rings.get(id);
  if (!call) return;
  state.rings.delete(id);
  renderRings();
  if (state.call && state.call.status !== "ended") state.call.hangup();
  call.iceServers = await iceServers();
  adoptCall(call);
  if (state.rooms.has(call.room)) openRoom(call.room);
  else refreshRooms().then(() => openRoom(call.room));
  try {
    await call.accept();
  } catch (e) {
    callFailed(call, e.code === "already_answered" ? { message: "answered on another device" } : e);
  }
}

function rejectRing(id) {
  const call = state.rings.get(id);
  if (!call) return;
  state.rings.delete(id);
  call.hangup();
  renderRings();
}

const END_REASONS = {
  hangup: "hung up",
  rejected: "declined",
  cancelled: "cancelled by the caller",
  timeout: "no answer",
  busy: "busy",
  answered_elsewhere: "answered on another device",
  disconnected: "the other side went away",
};

function onCallEnded(ev) {
  const ring = state.rings.get(ev.call);
  if (ring) {
    state.rings.delete(ev.call);
    ring.end(ev.reason);
    renderRings();
    announce(
      ev.reason === "answered_elsewhere" ? "Call answered on another device."
        : ev.reason === "rejected" ? "Call declined on another device."
        : `Missed call from ${ring.peer}.`,
    );
    return;
  }
  if (state.call && state.call.id === ev.call) {
    state.call.end(ev.reason);
    announce("Call ended: " + (END_REASONS[ev.reason] || ev.reason) + ".");
  }
}

$("call-video").addEventListener("click", () => startCall("video"));
$("call-audio").addEventListener("click", () => startCall("audio"));
$("hangup").addEventListener("click", () => state.call && state.call.hangup());
$("share").addEventListener("click", async () => {
  const call = state.call;
  if (!call || !call.pc) return;
  try {
    if (call.screen) call.stopShare();
    else await call.startShare();
  } catch (e) {
    announce("Screen sharing not started: " + e.message);
  }
  renderCall();
});

setInterval(() => {
  if (state.call && state.call.status === "connected") renderDuration();
  // Offers' countdowns and expiry.
  let changed = false;
  for (const o of state.offers.values()) {
    if (o.state === "open" && o.expires_at && o.expires_at <= Date.now()) {
      o.state = "expired";
      changed = true;
    }
  }
  if (changed || state.offers.size) renderOfferTimes();
  if (changed) renderOffers();
}, 1000);

// ------------------------------------------------------------------ rendering

function dot(status, label) {
  return el("span", { class: `dot ${status}`, "aria-hidden": "true", title: label });
}

function renderContacts() {
  const ul = $("contacts");
  ul.replaceChildren();
  const ids = contactIds();
  if (!ids.length) ul.append(el("li", { class: "help", text: "Nobody yet: start a chat or watch a user." }));
  for (const user of ids) {
    const s = statusOf(user);
    const li = el(
      "li",
      { class: "contact", "data-user": user, "data-status": s.status },
      dot(s.status, s.text),
      el("span", { class: "who" }, el("strong", { text: displayName(user) }), user !== displayName(user) ? el("span", { class: "uid", text: ` (${user})` }) : null),
      el("span", { class: "status-text", text: s.text }),
    );
    ul.append(li);
  }
}

function renderRooms() {
  const ul = $("rooms");
  ul.replaceChildren();
  const rooms = [...state.rooms.values()];
  if (!rooms.length) ul.append(el("li", { class: "help", text: "No rooms yet." }));
  for (const r of rooms) {
    const unread = r.unread || 0;
    const btn = el(
      "button",
      {
        type: "button",
        class: "room" + (r.room === state.openRoom ? " open" : ""),
        "aria-current": r.room === state.openRoom ? "true" : null,
        "data-room": r.room,
        onclick: () => openRoom(r.room),
      },
      el("span", { class: "room-name", text: roomName(r) }),
      el("span", { class: "kind", text: r.kind }),
      unread ? el("span", { class: "badge", text: String(unread), "aria-label": `${unread} unread` }) : null,
    );
    ul.append(el("li", {}, btn));
  }
}

function renderRoomHeader() {
  const r = state.rooms.get(state.openRoom);
  const inCall = state.call && state.call.status !== "ended";
  $("room-title").textContent = r ? roomName(r) : "No room open";
  $("app").classList.toggle("room-open", !!r);
  const members = $("room-members");
  members.replaceChildren();
  if (r) {
    members.append(`${r.kind} room · `);
    for (const m of r.members || []) {
      const s = m === state.me.user ? { status: state.myStatus, text: state.myStatus } : statusOf(m);
      members.append(el("span", { class: "member" }, dot(s.status, s.text), `${displayName(m)} (${s.text}) `));
    }
  }
  const canChat = !!r && state.me?.role !== "admin";
  $("message").disabled = !canChat;
  $("send").disabled = !canChat;
  $("call-video").disabled = !canChat || inCall;
  $("call-audio").disabled = !canChat || inCall;
}

function renderMessages(stickToBottom = false) {
  const room = state.openRoom;
  const ol = $("messages");
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  ol.replaceChildren();
  const msgs = room ? state.messages.get(room) : null;
  $("log-empty").hidden = !!room;
  if (room && (!msgs || msgs.size === 0)) {
    $("log-empty").hidden = false;
    $("log-empty").textContent = "No messages yet. Say hello.";
  } else if (!room) {
    $("log-empty").textContent = "Pick a room, start a chat, or ask an expert.";
  }
  const oldest = room ? state.oldestLoaded.get(room) : null;
  $("older").hidden = !room || !msgs || oldest == null || oldest <= 1;
  if (!msgs) return;
  const reads = state.reads.get(room) || new Map();
  const sorted = [...msgs.values()].sort((a, b) => a.seq - b.seq);
  for (const m of sorted) {
    const mine = m.from === state.me.user;
    if (m.kind === "system") {
      ol.append(el("li", { class: "msg system", "data-seq": m.seq }, el("span", { text: m.body }), el("time", { text: timeFmt.format(m.ts) })));
      continue;
    }
    let receipt = null;
    if (mine) {
      const readers = [...reads.entries()].filter(([u, s]) => u !== state.me.user && s >= m.seq).map(([u]) => displayName(u));
      receipt = el("span", { class: "receipt" + (readers.length ? " read" : ""), text: readers.length ? `Read by ${readers.join(", ")}` : "Sent" });
    }
    ol.append(
      el(
        "li",
        { class: "msg" + (mine ? " mine" : ""), "data-seq": m.seq, "data-from": m.from },
        el("span", { class: "from", text: mine ? "You" : displayName(m.from) }),
        el("p", { class: "body", text: m.body }),
        el("span", { class: "meta" }, el("time", { datetime: new Date(m.ts).toISOString(), text: timeFmt.format(m.ts) }), receipt),
      ),
    );
  }
  if (stickToBottom ? atBottom || sorted.at(-1)?.from === state.me.user : true) log.scrollTop = log.scrollHeight;
}

function renderTyping() {
  const room = state.openRoom;
  const now = Date.now();
  const t = room ? state.typing.get(room) : null;
  const who = t ? [...t.entries()].filter(([u, exp]) => exp > now && u !== state.me.user).map(([u]) => displayName(u)) : [];
  $("typing").textContent = who.length ? `${who.join(", ")} ${who.length === 1 ? "is" : "are"} typing…` : "";
}

function renderRequests() {
  const ul = $("my-requests");
  ul.replaceChildren();
  for (const r of [...state.requests.values()].reverse()) {
    let status;
    let action = null;
    switch (r.status) {
      case "waiting":
        status = `waiting for an expert (offered to ${r.offered ?? 0})`;
        action = el("button", { type: "button", class: "secondary small", text: "Cancel", onclick: () => cancelRequest(r.request) });
        break;
      case "claimed":
        status = `claimed by ${r.by?.name || r.by?.user}`;
        action = el("button", { type: "button", class: "secondary small", text: "Open room", onclick: () => openRoom(r.room) });
        break;
      default:
        status = r.status;
    }
    ul.append(
      el(
        "li",
        { class: "request " + String(r.status).split(":")[0], "data-request": r.request || "" },
        el("span", { class: "area", text: `${r.area || "question"} · ${r.mode}` }),
        r.question ? el("q", { text: r.question }) : null,
        el("span", { class: "req-status", text: status }),
        action,
      ),
    );
  }
}

const OFFER_BUTTON = {
  open: "Claim",
  claiming: "Claiming…",
  won: "Claimed by you",
  taken: "Claim — taken",
  withdrawn: "Claim — withdrawn",
  expired: "Claim — expired",
};

function renderOffers() {
  const ul = $("offers");
  ul.replaceChildren();
  const offers = [...state.offers.values()].reverse();
  $("inbox-empty").hidden = offers.length > 0;
  for (const o of offers) {
    const claimBtn = el("button", {
      type: "button",
      class: "claim",
      disabled: o.state !== "open",
      "aria-disabled": o.state !== "open" ? "true" : null,
      text: OFFER_BUTTON[o.state] || o.state,
      onclick: () => claim(o.request),
    });
    const li = el(
      "li",
      { class: "offer " + o.state, "data-request": o.request, "data-state": o.state },
      el("span", { class: "area", text: `${o.area} · ${o.mode}` }),
      el("q", { text: o.question }),
      el("span", { class: "from", text: `from ${o.from?.name || o.from?.user} (${o.from?.role})` }),
      el("span", { class: "expires", "data-expires": o.expires_at || "" }),
      el(
        "span",
        { class: "offer-actions" },
        claimBtn,
        o.state === "open" ? el("button", { type: "button", class: "secondary small", text: "Decline", onclick: () => decline(o.request) }) : null,
        o.state === "won" && o.room ? el("button", { type: "button", class: "secondary small", text: "Open room", onclick: () => openRoom(o.room) }) : null,
      ),
    );
    ul.append(li);
  }
  renderOfferTimes();
}

function renderOfferTimes() {
  for (const span of document.querySelectorAll("#offers .expires")) {
    const li = span.closest("li");
    const exp = Number(span.dataset.expires);
    if (li.dataset.state !== "open" || !exp) {
      span.textContent = "";
      continue;
    }
    span.textContent = `expires in ${fmtDuration(exp - Date.now())}`;
  }
}

function renderRings() {
  const box = $("rings");
  box.replaceChildren();
  for (const call of state.rings.values()) {
    const room = state.rooms.get(call.room);
    box.append(
      el(
        "div",
        { class: "ring", role: "alertdialog", "aria-label": `Incoming ${call.media} call`, "data-call": call.id },
        el("p", {}, el("strong", { text: `Incoming ${call.media} call` }), ` from ${call.peer}${room ? " in " + roomName(room) : ""}`),
        el(
          "div",
          { class: "actions" },
          el("button", { type: "button", text: "Accept", onclick: () => acceptRing(call.id) }),
          el("button", { type: "button", class: "danger", text: "Reject", onclick: () => rejectRing(call.id) }),
        ),
      ),
    );
  }
  const first = box.querySelector("button");
  if (first && !box.contains(document.activeElement)) first.focus();
}

function callStatusText(call) {
  switch (call.status) {
    case "calling":
      return call.id ? `Ringing ${call.peer}…` : "Starting…";
    case "connecting":
      return "Connecting…";
    case "connected":
      return `${call.media === "video" ? "Video" : "Audio"} call with ${call.peer}: connected`;
    case "reconnecting":
      return "Connection interrupted, reconnecting…";
    case "failed":
      return "Connection failed";
    case "ended":
      return `Call ended (${END_REASONS[call.endedReason] || call.endedReason || "ended"})`;
    default:
      return call.status;
  }
}

function renderCall() {
  const call = state.call;
  const section = $("call");
  section.hidden = !call;
  renderRoomHeader();
  if (!call) {
    $("remote-videos").replaceChildren();
    $("local-video").srcObject = null;
    return;
  }
  section.dataset.status = call.status;
  section.dataset.media = call.media;
  $("call-title").textContent = `${call.media === "video" ? "Video" : "Audio"} call`;
  $("call-status").textContent = callStatusText(call);
  $("hangup").disabled = call.status === "ended";
  $("share").disabled = call.status !== "connected";
  $("share").textContent = call.screen ? "Stop sharing" : "Share screen";
  renderDuration();
  if (call.status === "ended") {
    $("local-video").srcObject = null;
    $("remote-videos").replaceChildren();
  }
}

function renderDuration() {
  const call = state.call;
  $("call-duration").textContent = call && call.connectedAt && call.status !== "ended" ? fmtDuration(Date.now() - call.connectedAt) : "";
}

function renderStreams() {
  const call = state.call;
  if (!call) return;
  const local = $("local-video");
  const localStream = call.screen ? call.screen.stream : call.localStream;
  if (local.srcObject !== localStream) local.srcObject = localStream;
  const box = $("remote-videos");
  const wanted = new Set(call.remoteStreams.keys());
  for (const v of [...box.querySelectorAll("video")]) {
    if (!wanted.has(v.dataset.stream)) v.remove();
  }
  let i = 0;
  for (const [id, stream] of call.remoteStreams) {
    let v = box.querySelector(`video[data-stream="${CSS.escape(id)}"]`);
    if (!v) {
      v = el("video", { autoplay: true, playsinline: true, "data-stream": id, "aria-label": i === 0 ? `${call.peer}'s camera` : `${call.peer}'s shared screen` });
      v.srcObject = stream;
      box.append(v);
      v.play().catch(() => {});
    }
    i++;
  }
  box.dataset.count = String(call.remoteStreams.size);
}

// ------------------------------------------------------------------ start

probeDev();
renderContacts();
renderRooms();
const saved = sessionStorage.getItem("liaison.token");
if (saved) {
  $("token").value = saved;
  signIn(saved);
}
