// Calls as people see them: the ringing popup ("Dr Hana Ito is calling"), the call panel
// (status, videos, Share screen, Hang up) that collapses to a one-line summary when the call
// ends (with "Add call note", call-note.js), and the Call buttons of the open conversation. The
// WebRTC side is call.js.
import { Call } from "./call.js";
import { callNoteOpen, canNoteCall, initCallNote } from "./call-note.js";
import { openRoom, refreshRooms, roomName } from "./rooms.js";
import { changed, learnName, nameOf, set, state, subscribe } from "./state.js";
import { $, announce, el, fmtDuration } from "./ui.js";

const SUMMARY_MS = 4000; // how long the one-line summary of an ended call stays
const NOTE_SUMMARY_MS = 10000; // … when it offers "Add call note" (and as long as a note is being written)

const END_REASONS = {
  hangup: "hung up",
  rejected: "declined",
  cancelled: "cancelled",
  timeout: "no answer",
  busy: "busy",
  answered_elsewhere: "answered on another device",
  disconnected: "the other side went away",
};

export const callActive = () => !!state.call && state.call.status !== "ended";

export function initCalls() {
  $("call-video").addEventListener("click", () => startCall("video"));
  $("call-audio").addEventListener("click", () => startCall("audio"));
  $("hangup").addEventListener("click", () => state.call?.hangup());
  $("share").addEventListener("click", toggleShare);
  subscribe(["call", "openRoom", "rooms", "names", "me"], renderCallButtons);
  subscribe(["call", "names"], renderCall);
  subscribe(["rings", "names", "rooms"], renderRings);
  setInterval(() => state.call?.status === "connected" && renderDuration(), 1000);
  initCallNote(closeSummary);
}

/** Ends every call and ring of this tab (signing out). */
export function endAllCalls() {
  state.call?.end("signed out");
  for (const c of state.rings.values()) c.end("signed out");
}

export const events = {
  "call.ring"(ev) {
    if (findCall(ev.call)) return;
    learnName(ev.from?.user, ev.from?.name);
    const call = new Call({ conn: state.conn, room: ev.room, media: ev.media, side: "callee", iceServers: [], peer: nameOf(ev.from?.user), id: ev.call, offer: ev.sdp });
    state.rings.set(ev.call, call);
    changed("rings");
    announce(`${call.peer} is calling (${ev.media} call).`);
  },
  "call.accepted"(ev) {
    const call = state.call;
    if (!call || call.id !== ev.call) return;
    learnName(ev.by?.user, ev.by?.name);
    call.peer = nameOf(ev.by?.user) || call.peer; // in a group room, whoever answered
    call.accepted(ev).catch((e) => callFailed(call, e));
  },
  "call.candidate"(ev) {
    findCall(ev.call)?.remoteCandidate(ev.candidate);
  },
  "call.sdp"(ev) {
    if (state.call?.id === ev.call) state.call.remoteDescription(ev.description).catch((e) => console.warn("call.sdp:", e));
  },
  "call.ended"(ev) {
    const ring = state.rings.get(ev.call);
    if (ring) {
      state.rings.delete(ev.call);
      ring.end(ev.reason);
      changed("rings");
      announce(ev.reason === "answered_elsewhere" ? "Call answered on another device."
        : ev.reason === "rejected" ? "Call declined on another device." : `Missed call from ${ring.peer}.`);
    } else if (state.call?.id === ev.call) {
      state.call.end(ev.reason);
    }
  },
};

function findCall(id) {
  return state.call?.id === id ? state.call : state.rings.get(id) || null;
}

async function iceServers() {
  try {
    const ok = await state.conn.request("turn.credentials");
    const urls = Array.isArray(ok.urls) ? ok.urls : [ok.urls];
    return urls.length ? [{ urls, username: ok.username, credential: ok.credential }] : [];
  } catch {
    return []; // not_found: no TURN configured; host candidates only
  }
}

/** The other members' names: whom a call in this room reaches. */
function peerOf(room) {
  const others = (state.rooms.get(room)?.members || []).filter((m) => m !== state.me.user);
  return others.map(nameOf).join(", ") || "the room";
}

function adoptCall(call) {
  set("call", call);
  call.addEventListener("change", () => {
    if (call.status === "ended" && !call.endedAt) {
      call.endedAt = Date.now(); // the panel's status line (a live region) says how it ended
      setTimeout(() => closeSummary(call), canNoteCall(call) ? NOTE_SUMMARY_MS : SUMMARY_MS);
    }
    changed("call");
  });
  call.addEventListener("streams", renderStreams);
}

/** Takes an ended call's summary away, unless a note of it is being written or it is still fresh. */
function closeSummary(call) {
  if (state.call !== call || call.status !== "ended" || callNoteOpen(call)) return;
  if (Date.now() - call.endedAt < SUMMARY_MS) return; // its own timer comes later
  set("call", null);
}

/** A meeting's "Join call": answers the call ringing here from `room`, else calls its other members. */
export async function joinCall(room) {
  const ring = [...state.rings.values()].find((c) => c.room === room);
  if (ring) return acceptRing(ring.id);
  if (callActive()) return;
  if (!state.rooms.has(room)) await refreshRooms();
  openRoom(room);
  await startCall("video", room);
}

/** Calls the other members of `room` (by default the open one). */
export async function startCall(media, room = state.openRoom) {
  if (!room || callActive()) return;
  const call = new Call({ conn: state.conn, room, media, side: "caller", iceServers: await iceServers(), peer: peerOf(room) });
  adoptCall(call);
  try {
    await call.place();
  } catch (e) {
    callFailed(call, e);
  }
}

function callFailed(call, e) {
  console.warn("call failed:", e);
  call.end(e.code === "busy" ? "busy" : e.message || String(e));
}

async function acceptRing(id) {
  const call = state.rings.get(id);
  if (!call) return;
  state.rings.delete(id);
  changed("rings");
  if (callActive()) state.call.hangup();
  call.iceServers = await iceServers();
  adoptCall(call);
  if (!state.rooms.has(call.room)) await refreshRooms();
  openRoom(call.room);
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
  changed("rings");
}

async function toggleShare() {
  const call = state.call;
  if (!call?.pc) return;
  try {
    if (call.screen) call.stopShare();
    else await call.startShare();
  } catch (e) {
    announce("Screen sharing not started: " + e.message);
  }
  renderCall();
}

function renderCallButtons() {
  const room = state.rooms.get(state.openRoom);
  $("call-actions").hidden = !room || state.me?.role === "admin";
  for (const id of ["call-video", "call-audio"]) $(id).disabled = !room || callActive();
  if (room) {
    $("call-video").setAttribute("aria-label", `Video call ${roomName(room)}`);
    $("call-audio").setAttribute("aria-label", `Audio call ${roomName(room)}`);
  }
}

/** "Video call with Mika Laine" */
const callName = (call) => `${call.media === "video" ? "Video" : "Audio"} call with ${call.peer}`;

function callStatusText(call) {
  switch (call.status) {
    case "calling":
      return call.id ? `Calling ${call.peer}…` : "Starting the call…";
    case "connecting":
      return `Connecting to ${call.peer}…`;
    case "connected":
      return `${callName(call)}: connected`;
    case "reconnecting":
      return "Connection interrupted, reconnecting…";
    case "failed":
      return "Connection failed";
    case "ended": {
      const after = call.connectedAt ? ` after ${fmtDuration(call.endedAt - call.connectedAt)}` : "";
      const reason = call.endedReason === "hangup" && !call.connectedAt ? "cancelled" : call.endedReason;
      return `${callName(call)} ended${after} (${END_REASONS[reason] || reason || "ended"})`;
    }
    default:
      return call.status;
  }
}

function renderCall() {
  const call = state.call;
  const section = $("call");
  section.hidden = !call;
  if (!call) {
    $("remote-videos").replaceChildren();
    $("local-video").srcObject = null;
    return;
  }
  const ended = call.status === "ended";
  section.dataset.status = call.status;
  section.dataset.media = call.media;
  $("call-status").textContent = callStatusText(call);
  // Ended: one line of summary, no videos, no controls.
  $("call-videos").hidden = ended;
  $("call-controls").hidden = ended;
  $("share").hidden = call.status !== "connected";
  $("share").textContent = call.screen ? "Stop sharing" : "Share screen";
  renderDuration();
  if (ended) {
    $("local-video").srcObject = null;
    $("remote-videos").replaceChildren();
  } else {
    renderStreams();
  }
}

function renderDuration() {
  const call = state.call;
  $("call-duration").textContent = call?.connectedAt && call.status !== "ended" ? fmtDuration(Date.now() - call.connectedAt) : "";
}

function renderStreams() {
  const call = state.call;
  if (!call || call.status === "ended") return;
  const local = $("local-video");
  const localStream = call.screen ? call.screen.stream : call.localStream;
  if (local.srcObject !== localStream) local.srcObject = localStream;
  local.hidden = !localStream?.getVideoTracks().length; // no black tile without a camera
  const box = $("remote-videos");
  for (const v of [...box.querySelectorAll("video")]) if (!call.remoteStreams.has(v.dataset.stream)) v.remove();
  let i = 0;
  for (const [id, stream] of call.remoteStreams) {
    if (!box.querySelector(`video[data-stream="${CSS.escape(id)}"]`)) {
      const v = el("video", { autoplay: true, playsinline: true, "data-stream": id, "aria-label": i === 0 ? `${call.peer}'s camera` : `${call.peer}'s shared screen` });
      v.srcObject = stream;
      box.append(v);
      v.play().catch(() => {});
    }
    i++;
  }
  box.dataset.count = String(call.remoteStreams.size);
}

/** Where a ringing call comes from, when it says more than the caller's name: a group, a MOD question. */
function ringContext(call) {
  const room = state.rooms.get(call.room);
  if (!room || room.kind === "direct") return "";
  if (room.title) return room.title === call.peer ? "" : ` about “${room.title}”`;
  const others = (room.members || []).filter((m) => m !== state.me.user && nameOf(m) !== call.peer);
  return others.length ? ` · group with ${others.map(nameOf).join(", ")}` : "";
}

function renderRings() {
  const box = $("rings");
  box.replaceChildren();
  for (const call of state.rings.values()) {
    const title = `${call.peer} is calling`;
    box.append(
      el(
        "div",
        { class: "ring", role: "alertdialog", "aria-label": title, "data-call": call.id },
        el("p", { class: "ring-title" }, el("strong", { text: title })),
        el("p", { class: "ring-what", text: `${call.media === "video" ? "Video" : "Audio"} call${ringContext(call)}` }),
        el(
          "div",
          { class: "actions" },
          el("button", { type: "button", text: "Accept", "aria-label": `Accept the call from ${call.peer}`, onclick: () => acceptRing(call.id) }),
          el("button", { type: "button", class: "danger", text: "Reject", "aria-label": `Reject the call from ${call.peer}`, onclick: () => rejectRing(call.id) }),
        ),
      ),
    );
  }
  const first = box.querySelector("button");
  if (first && !box.contains(document.activeElement)) first.focus();
}
