// Presence: your own status, and the live status of your contacts (everyone you share a room
// with), watched on every connection.
import { changed, learnName, nameOf, state, subscribe } from "./state.js";
import { $, announce, dot, el, update } from "./ui.js";

export function initPresence() {
  $("status").addEventListener("change", async () => {
    const status = $("status").value;
    state.myStatus = status;
    changed("myStatus");
    try {
      await state.conn.request("presence.set", { status });
      announce(`Your status is ${status}.`);
    } catch (e) {
      announce("Status not changed: " + e.message);
    }
  });
  subscribe(["presence", "names", "rooms", "me"], renderContacts);
  subscribe(["myStatus"], () => ($("status").value = state.myStatus));
}

/** After every (re)connect: our status again (a new device starts online), then the contacts. */
export function presenceSynced() {
  if (state.myStatus !== "online") state.conn.request("presence.set", { status: state.myStatus }).catch(() => {});
  watchContacts();
}

export const events = {
  presence(ev) {
    learnName(ev.user, ev.name);
    state.presence.set(ev.user, ev);
    changed("presence");
  },
};

function contactIds() {
  const ids = new Set();
  for (const r of state.rooms.values()) for (const m of r.members || []) if (m !== state.me?.user) ids.add(m);
  return [...ids].sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
}

/** Watches every contact not yet watched on this connection. */
export async function watchContacts() {
  const users = contactIds().filter((u) => !state.watched.has(u));
  if (!users.length || !state.conn?.ready) return;
  for (const u of users) state.watched.add(u);
  try {
    const ok = await state.conn.request("presence.watch", { users });
    for (const p of ok.presence) {
      learnName(p.user, p.name);
      state.presence.set(p.user, p);
    }
  } catch (e) {
    // One refused user fails the whole request: ask one by one to tell which.
    for (const u of users) state.watched.delete(u);
    if (users.length > 1 && e.code !== "disconnected" && e.code !== "timeout") for (const u of users) watchOne(u);
  }
  changed("presence");
}

async function watchOne(user) {
  state.watched.add(user);
  try {
    const ok = await state.conn.request("presence.watch", { users: [user] });
    for (const p of ok.presence) state.presence.set(p.user, p);
  } catch (e) {
    state.presence.set(user, { user, error: e.code === "forbidden" ? "not visible to you" : e.code === "not_found" ? "unknown user" : e.message });
    if (e.code === "disconnected" || e.code === "timeout") state.watched.delete(user);
  }
  changed("presence");
}

/** {status, text} of a user: live when watched, else `fallback` (e.g. the directory's snapshot). */
export function statusOf(user, fallback = null) {
  if (state.me && user === state.me.user) return { status: state.myStatus, text: state.myStatus };
  const p = state.presence.get(user);
  if (p && !p.error) return { status: p.status, text: p.status + (p.note ? ` — ${p.note}` : "") };
  if (fallback) return { status: fallback, text: fallback };
  return p ? { status: "unknown", text: p.error } : { status: "unknown", text: "status unknown" };
}

function renderContacts() {
  const ids = state.me ? contactIds() : [];
  const items = ids.map((user) => {
    const s = statusOf(user);
    return el(
      "li",
      { class: "contact", "data-user": user, "data-status": s.status },
      dot(s.status),
      el("span", { class: "who", text: nameOf(user) }),
      el("span", { class: "status-text", text: s.text }),
    );
  });
  update($("contacts"), items.length ? items : [el("li", { class: "help", text: "Nobody yet: find people above and start a chat." })]);
}
