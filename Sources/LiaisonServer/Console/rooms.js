// Rooms: the room list with unread counts, the open room's header (title and members with
// presence), opening a room, and finding or creating the direct room with a person.
import { statusOf } from "./presence.js";
import { changed, displayName, learnName, learnNames, set, state, subscribe } from "./state.js";
import { $, announce, dot, el, update } from "./ui.js";

const KIND_LABELS = { direct: "chat", group: "group", mod: "expert", meeting: "meeting" };

export function initRooms() {
  subscribe(["rooms", "openRoom", "names", "me"], renderRooms);
  subscribe(["rooms", "openRoom", "names", "presence", "myStatus", "me"], renderRoomHeader);
}

export const events = {
  "room.member"(ev) {
    learnName(ev.user, ev.name);
    refreshRooms();
    if (ev.user !== state.me.user) announce(`${displayName(ev.user)} ${ev.action} ${roomName(state.rooms.get(ev.room))}`);
  },
};

/** A room's name as people say it: its title, else the other members' names. */
export function roomName(room) {
  if (!room) return "";
  if (room.title) return room.title;
  const others = (room.members || []).filter((m) => m !== state.me?.user);
  if (room.kind === "direct") return others.length ? displayName(others[0]) : "Just you";
  return others.map(displayName).join(", ") || room.kind;
}

export async function refreshRooms() {
  try {
    const ok = await state.conn.request("room.list");
    const seen = new Set();
    for (const r of ok.rooms) {
      seen.add(r.room);
      learnNames(r.member_names);
      // The open room is being read right now: unread stays 0.
      const unread = r.room === state.openRoom && document.visibilityState === "visible" ? 0 : r.unread;
      state.rooms.set(r.room, { ...state.rooms.get(r.room), ...r, unread });
    }
    for (const id of [...state.rooms.keys()]) if (!seen.has(id)) state.rooms.delete(id);
    changed("rooms");
  } catch (e) {
    console.warn("room.list:", e.message);
  }
}

/** Opens a room (the chat module loads and shows its messages). */
export function openRoom(room) {
  set("openRoom", room);
}

/** The direct room with `user`, created when there is none yet; opens it and returns its id. */
export async function openDirect(user) {
  let room = directRoomWith(user);
  if (!room) {
    room = (await state.conn.request("room.create", { kind: "direct", members: [user] })).room;
    await refreshRooms();
  }
  openRoom(room);
  return room;
}

/** A new group room with `users`; opens it. */
export async function openGroup(users) {
  const { room } = await state.conn.request("room.create", { kind: "group", members: users });
  await refreshRooms();
  openRoom(room);
  return room;
}

function directRoomWith(user) {
  for (const r of state.rooms.values()) if (r.kind === "direct" && (r.members || []).includes(user)) return r.room;
  return null;
}

function renderRooms() {
  const ul = $("rooms");
  update(ul, roomItems());
}

function roomItems() {
  const rooms = [...state.rooms.values()];
  if (!rooms.length) return [el("li", { class: "help", text: "No conversations yet." })];
  return rooms.map((r) => {
    const unread = r.unread || 0;
    const open = r.room === state.openRoom;
    const btn = el(
      "button",
      { type: "button", class: "room" + (open ? " open" : ""), "aria-current": open ? "true" : null, "data-room": r.room, onclick: () => openRoom(r.room) },
      el("span", { class: "room-name", text: roomName(r) }),
      el("span", { class: "kind", text: KIND_LABELS[r.kind] || r.kind }),
      unread ? el("span", { class: "badge", text: String(unread) }) : null,
      unread ? el("span", { class: "visually-hidden", text: " unread" }) : null,
    );
    return el("li", {}, btn);
  });
}

function renderRoomHeader() {
  const r = state.rooms.get(state.openRoom);
  $("room-title").textContent = r ? roomName(r) : "No conversation open";
  $("app").classList.toggle("room-open", !!r);
  const members = $("room-members");
  members.replaceChildren();
  if (!r) return;
  for (const m of (r.members || []).filter((u) => u !== state.me.user)) {
    const s = statusOf(m);
    members.append(el("span", { class: "member", "data-user": m }, dot(s.status), `${displayName(m)} (${s.text})`));
  }
}
