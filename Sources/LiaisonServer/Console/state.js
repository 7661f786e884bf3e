// The console's shared state: one plain object every module reads directly, a tiny store around
// it (set / changed / subscribe; subscribers run once per task however many changes came), and
// the names map that every event and list carrying names fills, so the console never shows a
// bare id it can name.

export const state = {
  info: null, // GET /v1/info: {protocol, dev, ws_path}
  conn: null, // the Connection while signed in
  me: null, // {user, role, tenant, name, areas}
  device: "web-" + Math.random().toString(36).slice(2, 10),
  names: new Map(), // user -> display name, first one learned wins for the session
  presence: new Map(), // user -> {status, note, devices, last_seen} | {error}
  watched: new Set(), // users watched on the current connection
  people: null, // the last directory search: {query, users, error}
  rooms: new Map(), // room -> {room, kind, title, members, member_names, last_seq, unread}
  openRoom: null,
  messages: new Map(), // room -> Map(seq -> msg)
  oldestLoaded: new Map(), // room -> lowest seq loaded
  reads: new Map(), // room -> Map(user -> seq)
  typing: new Map(), // room -> Map(user -> expiresAt)
  myStatus: "online",
  requests: new Map(), // my MOD requests by id
  offers: new Map(), // MOD offers to me by id, each with a state: open|claiming|won|taken|withdrawn|expired
  call: null, // the current Call (also for a few seconds after it ended)
  rings: new Map(), // call id -> Call ringing here, not yet answered
  meetings: new Map(), // meeting id -> the meeting object of meeting.list / meeting.invite / meeting.updated
  meetingDetails: new Map(), // meeting id -> {notes, attendance} from meeting.get | {loading} | {error}
  reminders: new Map(), // meeting id -> meeting.reminder shown as a banner until dismissed
  picker: null, // the people panel picks people for something: {verb, what, status(u), pick(u), done()}
};

const listeners = new Map(); // key -> Set(fn)
const dirty = new Set();

export function set(key, value) {
  state[key] = value;
  changed(key);
}

/** Marks keys as changed (after mutating a Map in place); subscribers run once, after this task. */
export function changed(...keys) {
  const first = dirty.size === 0;
  for (const k of keys) dirty.add(k);
  if (first && dirty.size) queueMicrotask(flush);
}

function flush() {
  const fns = new Set();
  for (const k of dirty) for (const fn of listeners.get(k) || []) fns.add(fn);
  dirty.clear();
  for (const fn of fns) fn();
}

/** Calls `fn` whenever one of `keys` changed. */
export function subscribe(keys, fn) {
  for (const k of keys) {
    if (!listeners.has(k)) listeners.set(k, new Set());
    listeners.get(k).add(fn);
  }
}

/** Remembers a user's display name (a name equal to the id is only a placeholder). */
export function learnName(user, name) {
  if (!user || !name) return;
  const known = state.names.get(user);
  if (known && known !== user) return;
  if (known === name) return;
  state.names.set(user, name);
  changed("names");
}

/** learnName for each `{user: name}` entry. */
export function learnNames(map) {
  for (const [user, name] of Object.entries(map || {})) learnName(user, name);
}

/** The user's name, or their id while no name is known. */
export const nameOf = (user) => (user ? state.names.get(user) || user : "");

/** Like nameOf, but "you" for the signed-in user. */
export const displayName = (user) => (state.me && user === state.me.user ? "you" : nameOf(user));

/** Forgets everything of the signed-in user (names too: another user may sign in next). */
export function reset() {
  for (const v of Object.values(state)) if (v instanceof Map || v instanceof Set) v.clear();
  Object.assign(state, { conn: null, me: null, people: null, openRoom: null, myStatus: "online", call: null, picker: null });
  changed(...Object.keys(state));
}
