// The conversation: messages of the open room (history paging, catch-up after reconnecting),
// sending, typing indicators, read receipts, and the acks that empty the offline queue.
import { renderAttachments } from "./files.js";
import { refreshRooms, roomName } from "./rooms.js";
import { changed, displayName, learnName, nameOf, state, subscribe } from "./state.js";
import { $, announce, el, timeFmt } from "./ui.js";

const HISTORY_PAGE = 50;
const TYPING_SHOW_MS = 4000;
const TYPING_SEND_EVERY_MS = 2500;
const READ_EVERY_MS = 150;

// This module's own bookkeeping, forgotten at sign-out.
let local = fresh();
function fresh() {
  return { acked: new Map(), readSent: new Map(), ackTimers: new Map(), readTimer: null, unlisted: [], listing: null, lastTypingSent: 0 };
}

export function initChat() {
  subscribe(["openRoom"], roomOpened);
  subscribe(["names", "me"], () => renderMessages("keep"));
  subscribe(["names", "openRoom"], renderTyping);
  subscribe(["openRoom", "rooms", "me"], renderComposer);
  $("older").addEventListener("click", loadOlder);
  $("send-form").addEventListener("submit", send);
  $("message").addEventListener("input", typing);
  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("focus", markRead);
  // Keep the log pinned to the newest message while it is resized (call panel, window).
  const log = $("log");
  let atBottom = true;
  log.addEventListener("scroll", () => (atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40));
  new ResizeObserver(() => atBottom && (log.scrollTop = log.scrollHeight)).observe(log);
}

export function forgetChat() {
  for (const t of local.ackTimers.values()) clearTimeout(t);
  clearTimeout(local.readTimer);
  local = fresh();
}

export const events = {
  msg: (m) => onMessage(m),
  receipt(ev) {
    learnName(ev.user, ev.name);
    if (!state.reads.has(ev.room)) state.reads.set(ev.room, new Map());
    const r = state.reads.get(ev.room);
    r.set(ev.user, Math.max(r.get(ev.user) || 0, ev.seq));
    if (ev.room === state.openRoom) renderMessages("keep");
  },
  typing(ev) {
    learnName(ev.user, ev.name);
    if (!state.typing.has(ev.room)) state.typing.set(ev.room, new Map());
    state.typing.get(ev.room).set(ev.user, Date.now() + TYPING_SHOW_MS);
    renderTyping();
    setTimeout(renderTyping, TYPING_SHOW_MS + 50);
  },
};

/** After every (re)connect's `synced`: catch up the rooms whose cached messages fell behind. */
export async function chatSynced() {
  await refreshRooms();
  // Another device of ours may have acked them, so the replay before `synced` need not contain them.
  for (const [room, msgs] of state.messages) {
    const last = state.rooms.get(room)?.last_seq || 0;
    const have = msgs.size ? Math.max(...msgs.keys()) : 0;
    if (last <= have) continue;
    if (room !== state.openRoom) {
      forgetMessages(room); // reloaded when opened
      continue;
    }
    const ok = await state.conn.request("room.history", { room, limit: 100 }).catch(() => null);
    if (!ok) continue;
    if (ok.messages.length && ok.messages[0].seq > have + 1) forgetMessages(room); // a gap: keep the newest page only
    mergeHistory(room, ok.messages);
  }
  if (state.openRoom) {
    if (!state.messages.has(state.openRoom)) await loadLatest(state.openRoom);
    renderMessages("stick");
    markRead();
  }
}

function forgetMessages(room) {
  state.messages.delete(room);
  state.oldestLoaded.delete(room);
}

/** A `msg` event. `listed`: room.list was fetched after it arrived, so its unread count includes it. */
function onMessage(m, listed = false) {
  learnName(m.from, m.from_name);
  const known = state.rooms.get(m.room);
  if (!known) {
    // A room not listed yet (new, or replayed before room.list): list once, then deliver.
    local.unlisted.push(m);
    local.listing ||= refreshRooms().then(() => {
      local.listing = null;
      const held = local.unlisted;
      local.unlisted = [];
      for (const h of held) if (state.rooms.has(h.room)) onMessage(h, true);
    });
    return;
  }
  known.last_seq = Math.max(known.last_seq || 0, m.seq);
  let msgs = state.messages.get(m.room);
  const isNew = !msgs || !msgs.has(m.seq);
  if (msgs) msgs.set(m.seq, m);
  else if (m.room === state.openRoom) state.messages.set(m.room, (msgs = new Map([[m.seq, m]])));
  state.typing.get(m.room)?.delete(m.from);
  scheduleAck(m.room, m.seq);
  if (m.room === state.openRoom) {
    renderMessages("stick");
    renderTyping();
    markRead();
  }
  if (isNew && m.from !== state.me.user && (m.room !== state.openRoom || document.visibilityState !== "visible")) {
    if (!listed && m.seq > (local.readSent.get(m.room) || 0)) known.unread = (known.unread || 0) + 1;
    if (m.room !== state.openRoom && m.kind !== "system") announce(`New message from ${nameOf(m.from)} in ${roomName(known)}`);
  }
  changed("rooms");
}

function scheduleAck(room, seq) {
  if (seq <= (local.acked.get(room) || 0)) return;
  clearTimeout(local.ackTimers.get(room));
  const acks = local;
  acks.ackTimers.set(room, setTimeout(() => {
    const msgs = state.messages.get(room);
    const top = Math.max(seq, state.rooms.get(room)?.last_seq || 0, msgs ? Math.max(...msgs.keys()) : 0);
    state.conn
      ?.request("msg.ack", { room, seq: top })
      .then(() => acks.acked.set(room, Math.max(acks.acked.get(room) || 0, top)))
      .catch((e) => console.warn("msg.ack:", e.message));
  }, 200));
}

/** Tells the others we read the open room (when this tab is visible), at most every READ_EVERY_MS. */
function markRead() {
  const room = state.openRoom;
  if (!room || document.visibilityState !== "visible" || !state.conn?.ready) return;
  const info = state.rooms.get(room);
  if (info && info.unread) {
    info.unread = 0;
    changed("rooms");
  }
  if (local.readTimer) return;
  const reads = local;
  reads.readTimer = setTimeout(() => {
    reads.readTimer = null;
    if (state.openRoom !== room || !state.conn?.ready) return;
    const msgs = state.messages.get(room);
    const top = Math.max(state.rooms.get(room)?.last_seq || 0, msgs && msgs.size ? Math.max(...msgs.keys()) : 0);
    if (!top || top <= (reads.readSent.get(room) || 0)) return;
    reads.readSent.set(room, top);
    state.conn.request("msg.read", { room, seq: top }).catch((e) => {
      reads.readSent.delete(room);
      console.warn("msg.read:", e.message);
    });
    scheduleAck(room, top);
  }, READ_EVERY_MS);
}

async function roomOpened() {
  const room = state.openRoom;
  renderMessages("bottom");
  if (!room) return;
  if (!state.messages.has(room)) await loadLatest(room);
  if (state.openRoom !== room) return;
  renderMessages("bottom");
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
  for (const m of messages) {
    learnName(m.from, m.from_name);
    msgs.set(m.seq, m);
  }
  const lowest = messages.length ? messages[0].seq : 1;
  const prev = state.oldestLoaded.get(room);
  state.oldestLoaded.set(room, prev == null ? lowest : Math.min(prev, lowest));
  const info = state.rooms.get(room);
  if (info && msgs.size) info.last_seq = Math.max(info.last_seq || 0, ...msgs.keys());
}

async function loadOlder() {
  const room = state.openRoom;
  if (!room) return;
  const log = $("log");
  const fromBottom = log.scrollHeight - log.scrollTop;
  $("older").disabled = true;
  try {
    const ok = await state.conn.request("room.history", { room, before: state.oldestLoaded.get(room), limit: HISTORY_PAGE });
    mergeHistory(room, ok.messages);
    if (!ok.messages.length) state.oldestLoaded.set(room, 1);
  } catch (e) {
    announce("Could not load older messages: " + e.message);
  } finally {
    $("older").disabled = false;
  }
  renderMessages("keep");
  log.scrollTop = log.scrollHeight - fromBottom;
}

async function send(ev) {
  ev.preventDefault();
  const input = $("message");
  const body = input.value;
  const room = state.openRoom;
  if (!body.trim() || !room) return;
  input.value = "";
  try {
    await sendMessage(room, { body });
  } catch (e) {
    if (!input.value) input.value = body;
    announce("Message not sent: " + e.message);
  }
}

/**
 * msg.send to `room` with `fields` (`body`, `attachments`), retried with the same client_msg_id
 * across a reconnect (the server dedupes); resolves with the `ok`, rejects with the last error.
 */
export async function sendMessage(room, fields) {
  const client_msg_id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  for (let attempt = 0; ; attempt++) {
    try {
      const ok = await state.conn.request("msg.send", { room, ...fields, client_msg_id });
      local.lastTypingSent = 0;
      if (room === state.openRoom) markRead(); // our own message counts as read
      return ok;
    } catch (e) {
      if ((e.code !== "disconnected" && e.code !== "timeout") || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
    }
  }
}

function typing() {
  const room = state.openRoom;
  const now = Date.now();
  if (!room || !$("message").value || now - local.lastTypingSent < TYPING_SEND_EVERY_MS || !state.conn?.ready) return;
  local.lastTypingSent = now;
  state.conn.request("typing", { room }).catch(() => {});
}

function renderComposer() {
  const canChat = state.rooms.has(state.openRoom) && state.me?.role !== "admin";
  $("message").disabled = !canChat;
  $("send").disabled = !canChat;
}

/** mode: "bottom" scrolls to the newest, "stick" only if it was there, "keep" keeps the position. */
function renderMessages(mode) {
  const room = state.openRoom;
  const ol = $("messages");
  const log = $("log");
  const scrollTop = log.scrollTop;
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  ol.replaceChildren();
  const msgs = room ? state.messages.get(room) : null;
  const empty = $("log-empty");
  empty.hidden = !!msgs?.size;
  empty.textContent = room ? "No messages yet. Say hello." : "Find a person and press Chat, pick a conversation, or ask an expert.";
  const oldest = room ? state.oldestLoaded.get(room) : null;
  $("older").hidden = !msgs || oldest == null || oldest <= 1;
  if (!msgs) return;
  const reads = state.reads.get(room) || new Map();
  const sorted = [...msgs.values()].sort((a, b) => a.seq - b.seq);
  for (const m of sorted) {
    const time = el("time", { datetime: new Date(m.ts).toISOString(), text: timeFmt.format(m.ts) });
    if (m.kind === "system") {
      ol.append(el("li", { class: "msg system", "data-seq": m.seq }, el("span", { class: "body", text: m.body }), time));
      continue;
    }
    const mine = m.from === state.me.user;
    let receipt = null;
    if (mine) {
      const readers = [...reads.entries()].filter(([u, s]) => u !== state.me.user && s >= m.seq).map(([u]) => nameOf(u));
      receipt = el("span", { class: "receipt" + (readers.length ? " read" : ""), text: readers.length ? `Read by ${readers.join(", ")}` : "Sent" });
    }
    ol.append(
      el(
        "li",
        { class: "msg" + (mine ? " mine" : ""), "data-seq": m.seq, "data-from": m.from },
        el("span", { class: "from", text: mine ? "You" : nameOf(m.from) }),
        m.body || !m.attachments?.length ? el("p", { class: "body", text: m.body }) : null,
        renderAttachments(m),
        el("span", { class: "meta" }, time, receipt),
      ),
    );
  }
  const stick = mode === "bottom" || (mode === "stick" && (atBottom || sorted.at(-1)?.from === state.me.user));
  log.scrollTop = stick ? log.scrollHeight : scrollTop;
}

function renderTyping() {
  const now = Date.now();
  const t = state.openRoom ? state.typing.get(state.openRoom) : null;
  const who = t ? [...t.entries()].filter(([u, exp]) => exp > now && u !== state.me?.user).map(([u]) => displayName(u)) : [];
  $("typing").textContent = who.length ? `${who.join(", ")} ${who.length === 1 ? "is" : "are"} typing…` : "";
}
