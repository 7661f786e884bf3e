// Meetings: the "Meetings" panel. Your meetings (meeting.list after every (re)connect, kept
// current by meeting.invite and meeting.updated), each a card: its time in your zone (and the
// organizer's, when that reads differently), status, roster with every answer, your own answer,
// Open room and Join call, the organizer's Reschedule and Cancel, Forward, and notes (meeting.get,
// meeting.note: never for HCPs). The Schedule form (meeting.create) picks invitees in the people
// panel (`state.picker`) or from the open room. Reminders (meeting.reminder) show as banners, and
// "Subscribe in calendar" gives the private calendar feed (meeting.feed).
import { callActive, joinCall } from "./call-ui.js";
import { openRoom, refreshRooms, roomName } from "./rooms.js";
import { changed, displayName, learnName, nameOf, set, state, subscribe } from "./state.js";
import { $, announce, el, roleName, showError, update } from "./ui.js";

const LIST_PAST_DAYS = 30; // meeting.list from this long ago (older ones stay off the panel)
const EARLY_MS = 15 * 60000; // a meeting's call counts from 15 min before its start…
const LATE_MS = 60 * 60000; // …to 60 min after its end (the server's default --meeting-late)
const SOON_MS = 60 * 60000; // closer than this, a card also says "in 12 min"
const TICK_MS = 15000; // "in N min", Join call and the reminders follow the clock
const FINAL = new Set(["held", "missed", "cancelled"]);
const STATUS_TEXT = { scheduled: "scheduled", in_progress: "in progress", held: "held", missed: "missed", cancelled: "cancelled" };
const RSVP_TEXT = { pending: "no answer yet", accepted: "accepted", declined: "declined", tentative: "tentative" };
const RSVP_BUTTONS = [["accepted", "Accept"], ["declined", "Decline"], ["tentative", "Tentative"]];
const NOTE_KINDS = [["notes", "Notes"], ["insight", "Insight"], ["follow_up", "Follow-up"]];
const KIND_TEXT = Object.fromEntries(NOTE_KINDS);
// Whom each role may invite to a meeting: the default policy of docs/PROTOCOL.md. Only a hint for
// the people picker; the server has the last word, and its refusal shows where it was asked.
const MEETING_INVITABLE = { hcp: ["msl"], msl: ["hcp", "msl", "fmd"], fmd: ["msl", "fmd"] };

/** The browser's IANA time zone: times are typed and shown in it, and sent as `tz`. */
export const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

// This module's own bookkeeping, forgotten at sign-out.
let ui = fresh();
function fresh() {
  return {
    invitees: new Map(), // the Schedule form's picks: user -> role (null: not known, e.g. a room's member)
    panels: new Set(), // the open parts of cards: "<meeting>:notes", ":reschedule", ":cancel"
    drafts: new Map(), // what was typed in a card's fields, by field id (cards are rebuilt)
    errors: new Map(), // meeting -> the server's refusal of the last thing asked of it
    busy: new Set(), // meetings with a request under way
  };
}

export function initMeetings() {
  $("schedule-open").addEventListener("click", () => openSchedule(true));
  $("sched-close").addEventListener("click", () => openSchedule(false));
  $("schedule-form").addEventListener("submit", schedule);
  $("sched-room-members").addEventListener("click", inviteRoomMembers);
  $("feed-open").addEventListener("click", toggleFeed);
  $("feed-copy").addEventListener("click", copyFeed);
  $("feed-reset").addEventListener("click", () => loadFeed(true));
  subscribe(["me"], signedInOrOut);
  subscribe(["meetings", "meetingDetails", "names", "me", "call", "rings", "picker"], renderMeetings);
  subscribe(["reminders", "meetings", "call", "rings", "me"], renderReminders);
  subscribe(["openRoom", "rooms", "names", "me"], renderRoomChoice);
  subscribe(["names"], renderInvitees);
  setInterval(() => {
    if (!state.me) return;
    renderMeetings();
    renderReminders();
  }, TICK_MS);
}

/** After every (re)connect's catch-up: the meetings again (invitations missed meanwhile came before `synced`). */
export async function meetingsSynced() {
  if (!state.me || state.me.role === "admin") return;
  const from = Date.now() - LIST_PAST_DAYS * 86400000;
  try {
    const ok = await state.conn.request("meeting.list", { from });
    const seen = new Set();
    for (const m of ok.meetings) {
      seen.add(m.meeting);
      keep(m);
    }
    for (const [id, m] of state.meetings) if (!seen.has(id) && m.starts_at >= from) state.meetings.delete(id);
    changed("meetings");
  } catch (e) {
    console.warn("meeting.list:", e.message);
  }
  for (const p of ui.panels) if (p.endsWith(":notes")) loadDetails(p.split(":")[0]);
}

export const events = {
  "meeting.invite"(ev) {
    const known = state.meetings.has(ev.meeting);
    keep(ev);
    if (!known) announce(`${nameOf(ev.organizer?.user)} invited you to “${ev.title}”, ${fmtWhen(ev.starts_at)}.`);
  },
  "meeting.updated"(ev) {
    const prev = state.meetings.get(ev.meeting);
    keep(ev);
    if (panelOpen(ev.meeting, "notes")) loadDetails(ev.meeting); // attendance follows the call
    if (!prev) return;
    if (prev.status !== ev.status) announce(`“${ev.title}” is ${STATUS_TEXT[ev.status] || ev.status}.`);
    else if (prev.starts_at !== ev.starts_at || prev.duration_min !== ev.duration_min) announce(`“${ev.title}” moved to ${fmtWhen(ev.starts_at)}, ${ev.duration_min} min.`);
  },
  "meeting.reminder"(ev) {
    const { type, ...r } = ev;
    state.reminders.set(r.meeting, r);
    changed("reminders");
    announce(reminderText(r) + ".");
  },
};

/** Stores a meeting as the server showed it (a list entry, an event, or meeting.get without its details). */
function keep(frame) {
  const { type, id, attendance, notes, ...m } = frame;
  learnName(m.organizer?.user, m.organizer?.name);
  for (const a of m.attendees || []) learnName(a.user, a.name);
  state.meetings.set(m.meeting, m);
  if (FINAL.has(m.status) && state.reminders.delete(m.meeting)) changed("reminders");
  changed("meetings");
}

async function loadDetails(id) {
  if (!state.meetingDetails.get(id)?.notes) state.meetingDetails.set(id, { loading: true });
  changed("meetingDetails");
  try {
    const ok = await state.conn.request("meeting.get", { meeting: id });
    for (const n of ok.notes || []) learnName(n.author?.user, n.author?.name);
    state.meetingDetails.set(id, { notes: ok.notes || [], attendance: ok.attendance || [] });
    keep(ok);
  } catch (e) {
    state.meetingDetails.set(id, { error: e.message });
  }
  changed("meetingDetails");
}

// ---------------------------------------------------------------- times

const WHEN = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
const formats = new Map();
function fmtWhen(ms, timeZone) {
  const withYear = new Date(ms).getFullYear() !== new Date().getFullYear();
  const key = `${timeZone || ""}|${withYear}`;
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(undefined, { ...WHEN, ...(withYear ? { year: "numeric" } : {}), ...(timeZone ? { timeZone } : {}) }));
  return formats.get(key).format(ms);
}

/** The start in the organizer's zone, when it reads differently from the browser's: "(Wed 25 Nov, 16:30 in Asia/Kolkata, the organizer's time)". */
function organizerTime(m) {
  if (!m.tz || m.tz === localZone()) return "";
  let theirs;
  try {
    theirs = fmtWhen(m.starts_at, m.tz);
  } catch {
    return ` (organizer's zone: ${m.tz})`;
  }
  return theirs === fmtWhen(m.starts_at) ? "" : ` (${theirs} in ${m.tz}, the organizer's time)`;
}

const durationText = (min) => (min % 60 === 0 && min >= 60 ? `${min / 60} h` : min > 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${min} min`);
const endOf = (m) => m.starts_at + m.duration_min * 60000;

/** "in 12 min", "started 5 min ago": only close to the start (the card is rebuilt when it changes). */
function relative(m, now = Date.now()) {
  if (FINAL.has(m.status) || m.status === "in_progress") return "";
  const ms = m.starts_at - now;
  if (ms > SOON_MS || now > endOf(m)) return "";
  const min = Math.ceil(Math.abs(ms) / 60000);
  return ms > 0 ? `in ${min} min` : `started ${min} min ago`;
}

/** Whether a call in the meeting's room now counts as the meeting's call. */
const windowOpen = (m, now = Date.now()) =>
  (m.status === "scheduled" || m.status === "in_progress") && now >= m.starts_at - EARLY_MS && now <= endOf(m) + LATE_MS;

/** "2026-11-24T10:00" of the browser's zone (what a datetime-local field holds). */
function toLocalInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A datetime-local value as ms since the epoch (a date-time without an offset is local time). */
const fromLocalInput = (v) => (v ? new Date(v).getTime() : NaN);

// ---------------------------------------------------------------- the Schedule form

const scheduling = () => !$("schedule-form").hidden;

function openSchedule(open) {
  const form = $("schedule-form");
  const hadFocus = form.contains(document.activeElement);
  form.hidden = !open;
  $("schedule-open").hidden = open;
  $("schedule-open").setAttribute("aria-expanded", String(open));
  if (open) {
    if (!$("sched-start").value) $("sched-start").value = toLocalInput(Math.ceil(Date.now() / 3600000) * 3600000 + 3600000);
    $("sched-zone").textContent = `In your time zone, ${localZone()}.`;
    showError($("sched-error"), "");
    renderInvitees();
    renderRoomChoice();
    set("picker", schedulePicker());
    $("sched-title").focus();
  } else {
    if (state.picker?.kind === "schedule") set("picker", null);
    if (hadFocus) $("schedule-open").focus();
  }
}

function resetSchedule() {
  for (const id of ["sched-title", "sched-start", "sched-agenda"]) $(id).value = "";
  $("sched-duration").value = "30";
  $("sched-forwardable").checked = false;
  $("sched-in-room").checked = false;
  ui.invitees.clear();
  renderInvitees();
  showError($("sched-error"), "");
}

/** "ok", or why the signed-in user may not invite someone of `role` (by the default policy). */
function invitable(u) {
  if (u.user === state.me?.user) return "that is you";
  const mine = state.me?.role;
  const allowed = MEETING_INVITABLE[mine];
  if (!allowed || !u.role || allowed.includes(u.role)) return "ok";
  return `${roleName(mine)}s may not invite ${roleName(u.role).toLowerCase()}s to meetings`;
}

function schedulePicker() {
  return {
    kind: "schedule",
    verb: "Invite",
    pickedText: "Invited",
    doneText: "Back to the form",
    what: "Scheduling a meeting: press Invite next to each person to invite.",
    status: (u) => (ui.invitees.has(u.user) ? "picked" : invitable(u)),
    pick(u) {
      learnName(u.user, u.name);
      ui.invitees.set(u.user, u.role);
      renderInvitees();
      changed("picker");
      announce(`${nameOf(u.user)} added to the invitees.`);
    },
    done: () => $("sched-agenda").focus(),
  };
}

/** Back to the Schedule form's picker (or none) after picking for something else. */
function restorePicker() {
  set("picker", scheduling() ? schedulePicker() : null);
}

function renderInvitees() {
  const items = [...ui.invitees.keys()].map((u) =>
    el(
      "li",
      { class: "chip", "data-user": u },
      el("span", { text: nameOf(u) }),
      el("button", {
        type: "button",
        class: "chip-remove",
        text: "×",
        "aria-label": `Remove ${nameOf(u)} from the invitees`,
        onclick: () => {
          ui.invitees.delete(u);
          renderInvitees();
          changed("picker");
        },
      }),
    ),
  );
  update($("sched-invitees"), items);
  $("sched-invitees").hidden = items.length === 0;
}

/** "In this room" and "Invite the members of …" follow the open room. */
function renderRoomChoice() {
  const room = state.rooms.get(state.openRoom);
  const others = room ? (room.members || []).filter((u) => u !== state.me?.user) : [];
  $("sched-in-room-label").hidden = !room;
  if (!room) $("sched-in-room").checked = false;
  $("sched-in-room-text").textContent = room ? `In this room: ${roomName(room)}` : "In this room";
  const btn = $("sched-room-members");
  btn.hidden = others.length === 0;
  btn.textContent = room ? `Invite the members of ${roomName(room)}` : "";
}

function inviteRoomMembers() {
  const room = state.rooms.get(state.openRoom);
  for (const u of room?.members || []) if (u !== state.me.user && !ui.invitees.has(u)) ui.invitees.set(u, null);
  renderInvitees();
  changed("picker");
}

async function schedule(ev) {
  ev.preventDefault();
  const err = $("sched-error");
  showError(err, "");
  const title = $("sched-title").value.trim();
  const starts_at = fromLocalInput($("sched-start").value);
  const duration_min = Number($("sched-duration").value);
  const invitees = [...ui.invitees.keys()];
  const missing = !title ? "Give the meeting a title."
    : !Number.isFinite(starts_at) ? "Pick the date and time it starts."
    : !Number.isInteger(duration_min) ? "Give the duration in whole minutes."
    : !invitees.length ? "Invite at least one person: press Invite next to them under Find people."
    : "";
  if (missing) return showError(err, missing);
  const request = { title, starts_at, duration_min, tz: localZone(), invitees, forwardable: $("sched-forwardable").checked };
  const agenda = $("sched-agenda").value.trim();
  if (agenda) request.agenda = agenda;
  if ($("sched-in-room").checked && state.openRoom) request.room = state.openRoom;
  $("sched-submit").disabled = true;
  try {
    const ok = await state.conn.request("meeting.create", request);
    resetSchedule();
    openSchedule(false);
    announce(`Scheduled “${title}” for ${fmtWhen(starts_at)}.`);
    await Promise.all([loadDetails(ok.meeting), refreshRooms()]);
  } catch (e) {
    showError(err, "Not scheduled: " + e.message);
  } finally {
    $("sched-submit").disabled = false;
  }
}

// ---------------------------------------------------------------- acting on a meeting

/** Sends `type` about `m`; a refusal shows in its card. Resolves true when done. */
async function act(m, type, fields = {}) {
  const id = m.meeting;
  ui.busy.add(id);
  ui.errors.delete(id);
  renderMeetings();
  try {
    await state.conn.request(type, { meeting: id, ...fields });
    return true;
  } catch (e) {
    ui.errors.set(id, e.message);
    announce(`“${m.title}”: ${e.message}`);
    return false;
  } finally {
    ui.busy.delete(id);
    renderMeetings();
  }
}

async function answer(m, response) {
  if (await act(m, "meeting.rsvp", { response })) announce(`You answered ${RSVP_TEXT[response]} to “${m.title}”.`);
}

async function reschedule(m, startValue, durationValue) {
  const id = m.meeting;
  const fields = {};
  const starts_at = fromLocalInput(startValue);
  const duration_min = Number(durationValue);
  if (!Number.isFinite(starts_at) || !Number.isInteger(duration_min)) {
    ui.errors.set(id, "Pick the new date and time, and the duration in whole minutes.");
    return renderMeetings();
  }
  if (startValue !== toLocalInput(m.starts_at)) fields.starts_at = starts_at;
  if (duration_min !== m.duration_min) fields.duration_min = duration_min;
  if (Object.keys(fields).length && !(await act(m, "meeting.update", fields))) return;
  closePanel(id, "reschedule");
  ui.drafts.delete(`${id}-new-start`);
  ui.drafts.delete(`${id}-new-duration`);
  renderMeetings();
}

async function cancel(m) {
  if (!(await act(m, "meeting.cancel"))) return;
  closePanel(m.meeting, "cancel");
  renderMeetings();
}

async function addNote(m) {
  const id = m.meeting;
  const text = (ui.drafts.get(`${id}-note-text`) || "").trim();
  if (!text) {
    ui.errors.set(id, "Write the note first.");
    return renderMeetings();
  }
  const kind = ui.drafts.get(`${id}-note-kind`) || "notes";
  if (!(await act(m, "meeting.note", { text, kind }))) return;
  ui.drafts.delete(`${id}-note-text`);
  announce("Note added.");
  await loadDetails(id);
}

function startForward(m) {
  const id = m.meeting;
  set("picker", {
    kind: "forward",
    meeting: id,
    verb: "Forward",
    pickedText: "Invited",
    doneText: "Cancel",
    what: `Forwarding “${m.title}”: press Forward next to the person to invite.`,
    status(u) {
      const now = state.meetings.get(id) || m;
      return now.attendees.some((a) => a.user === u.user) ? "picked" : invitable(u);
    },
    async pick(u) {
      learnName(u.user, u.name);
      const picker = state.picker;
      if (await act(m, "meeting.forward", { user: u.user })) {
        announce(`“${m.title}” forwarded to ${nameOf(u.user)}.`);
        restorePicker();
      } else if (state.picker === picker) {
        picker.error = `Not forwarded to ${nameOf(u.user)}: ${ui.errors.get(id)}`;
        changed("picker");
      }
    },
    done: restorePicker,
  });
  $("people-query").focus();
}

async function showRoom(room) {
  if (!state.rooms.has(room)) await refreshRooms();
  openRoom(room);
}

async function join(m) {
  try {
    await joinCall(m.room);
  } catch (e) {
    ui.errors.set(m.meeting, e.message);
    renderMeetings();
  }
}

const panelOpen = (id, panel) => ui.panels.has(`${id}:${panel}`);
const closePanel = (id, panel) => ui.panels.delete(`${id}:${panel}`);

function togglePanel(id, panel) {
  const key = `${id}:${panel}`;
  if (ui.panels.has(key)) ui.panels.delete(key);
  else {
    ui.panels.add(key);
    if (panel === "notes") loadDetails(id);
  }
  renderMeetings();
}

// ---------------------------------------------------------------- rendering

function signedInOrOut() {
  const role = state.me?.role;
  $("meetings-panel").hidden = !state.me || role === "admin";
  if (state.me) return;
  ui = fresh();
  resetSchedule();
  $("schedule-form").hidden = true;
  $("schedule-open").hidden = false;
  $("schedule-open").setAttribute("aria-expanded", "false");
  $("feed-box").hidden = true;
  $("feed-open").setAttribute("aria-expanded", "false");
  $("feed-url").value = "";
}

function renderMeetings() {
  if (!state.me) {
    update($("meetings-upcoming"), []);
    update($("meetings-past"), []);
    $("past-title").hidden = true;
    return;
  }
  const all = [...state.meetings.values()];
  const upcoming = all.filter((m) => !FINAL.has(m.status)).sort((a, b) => a.starts_at - b.starts_at || a.meeting.localeCompare(b.meeting));
  const past = all.filter((m) => FINAL.has(m.status)).sort((a, b) => b.starts_at - a.starts_at || a.meeting.localeCompare(b.meeting));
  update($("meetings-upcoming"), upcoming.length ? upcoming.map(card) : [el("li", { class: "help", text: "No upcoming meetings." })]);
  $("past-title").hidden = past.length === 0;
  update($("meetings-past"), past.map(card));
}

const smallButton = (text, attrs = {}) => el("button", { type: "button", class: "secondary small", text, ...attrs });

function card(m) {
  const id = m.meeting;
  const me = state.me.user;
  const role = state.me.role;
  const organizer = m.organizer?.user === me;
  const myAnswer = m.attendees.find((a) => a.user === me)?.rsvp;
  const live = !FINAL.has(m.status);
  const busy = ui.busy.has(id);
  const inThisCall = callActive() && state.call.room === m.room;
  const ringing = [...state.rings.values()].some((c) => c.room === m.room);
  const error = ui.errors.get(id);
  const rel = relative(m);
  return el(
    "li",
    { class: `meeting ${m.status}`, "data-meeting": id, "data-status": m.status, "aria-labelledby": `${id}-title` },
    el("h4", { class: "meeting-title", id: `${id}-title`, text: m.title }),
    el(
      "p",
      { class: "meeting-when" },
      el("time", { datetime: new Date(m.starts_at).toISOString(), text: fmtWhen(m.starts_at) }),
      ` · ${durationText(m.duration_min)}`,
      rel ? ` · ${rel}` : null,
      organizerTime(m) ? el("span", { class: "meeting-tz", text: organizerTime(m) }) : null,
    ),
    el(
      "p",
      { class: "meeting-meta" },
      el("span", { class: `meeting-status ${m.status}`, text: STATUS_TEXT[m.status] || m.status }),
      ` · organized by ${displayName(m.organizer?.user)}`,
      m.forwardable ? " · may be forwarded" : null,
    ),
    m.agenda ? el("p", { class: "agenda", text: m.agenda }) : null,
    el(
      "ul",
      { class: "roster", "aria-label": `Invited to “${m.title}”` },
      ...m.attendees.map((a) =>
        el(
          "li",
          { "data-user": a.user, "data-rsvp": a.rsvp },
          el("span", { class: "who", text: displayName(a.user) + (a.user === m.organizer?.user ? " (organizer)" : "") }),
          el("span", { class: `rsvp-state ${a.rsvp}`, text: RSVP_TEXT[a.rsvp] || a.rsvp }),
        )),
    ),
    !organizer && live && myAnswer
      ? el(
        "div",
        { class: "rsvp-buttons", role: "group", "aria-label": `Your answer to “${m.title}”` },
        el("span", { class: "rsvp-label", text: "Your answer:" }),
        ...RSVP_BUTTONS.map(([value, text]) =>
          el("button", { type: "button", class: "small" + (myAnswer === value ? " current" : " secondary"), text, "aria-pressed": String(myAnswer === value), disabled: busy, onclick: () => answer(m, value) })),
      )
      : null,
    el(
      "div",
      { class: "meeting-actions" },
      smallButton("Open room", { "aria-label": `Open the room of “${m.title}”`, onclick: () => showRoom(m.room) }),
      windowOpen(m) && !inThisCall && role !== "admin"
        ? el("button", { type: "button", class: "small", text: "Join call", "aria-label": `Join the call of “${m.title}”`, disabled: callActive() && !ringing, onclick: () => join(m) })
        : null,
      live && (organizer || m.forwardable)
        ? smallButton("Forward", { "aria-label": `Forward “${m.title}”`, "aria-pressed": String(state.picker?.meeting === id), disabled: busy, onclick: () => startForward(m) })
        : null,
      organizer && m.status === "scheduled"
        ? smallButton("Reschedule", { "aria-expanded": String(panelOpen(id, "reschedule")), onclick: () => togglePanel(id, "reschedule") })
        : null,
      organizer && m.status === "scheduled"
        ? smallButton("Cancel meeting", { "aria-expanded": String(panelOpen(id, "cancel")), onclick: () => togglePanel(id, "cancel") })
        : null,
      role !== "hcp" ? smallButton("Notes", { "aria-expanded": String(panelOpen(id, "notes")), onclick: () => togglePanel(id, "notes") }) : null,
    ),
    organizer && m.status === "scheduled" && panelOpen(id, "reschedule") ? rescheduleForm(m, busy) : null,
    organizer && m.status === "scheduled" && panelOpen(id, "cancel") ? cancelConfirm(m, busy) : null,
    role !== "hcp" && panelOpen(id, "notes") ? notesSection(m, busy) : null,
    error ? el("p", { class: "error", role: "alert", text: error }) : null,
  );
}

/** Gives a card's field what was typed in it before the card was rebuilt, and remembers what is typed. */
function drafted(node, key, initial) {
  node.value = ui.drafts.has(key) ? ui.drafts.get(key) : initial;
  const remember = () => ui.drafts.set(key, node.value);
  node.addEventListener("input", remember);
  node.addEventListener("change", remember);
  return node;
}

function rescheduleForm(m, busy) {
  const id = m.meeting;
  const start = drafted(el("input", { id: `${id}-new-start`, type: "datetime-local", required: true }), `${id}-new-start`, toLocalInput(m.starts_at));
  const duration = drafted(el("input", { id: `${id}-new-duration`, type: "number", min: "1", max: "1440", step: "1", required: true }), `${id}-new-duration`, String(m.duration_min));
  return el(
    "form",
    {
      class: "reschedule",
      novalidate: true,
      "aria-label": `Reschedule “${m.title}”`,
      onsubmit: (ev) => {
        ev.preventDefault();
        reschedule(m, start.value, duration.value);
      },
    },
    el(
      "div",
      { class: "grid2" },
      el("div", {}, el("label", { for: start.id, text: "New start" }), start),
      el("div", {}, el("label", { for: duration.id, text: "New duration (minutes)" }), duration),
    ),
    el("p", { class: "help", text: `In your time zone, ${localZone()}. A new time asks everyone to answer again.` }),
    el("div", { class: "row" }, el("button", { type: "submit", class: "small", text: "Save new time", disabled: busy }), smallButton("Close", { onclick: () => togglePanel(id, "reschedule") })),
  );
}

function cancelConfirm(m, busy) {
  return el(
    "div",
    { class: "confirm", role: "group", "aria-label": `Cancel “${m.title}”` },
    el("p", { text: `Cancel “${m.title}” for everyone? This cannot be undone.` }),
    el(
      "div",
      { class: "row" },
      el("button", { type: "button", class: "danger small", text: "Yes, cancel it", disabled: busy, onclick: () => cancel(m) }),
      smallButton("Keep it", { onclick: () => togglePanel(m.meeting, "cancel") }),
    ),
  );
}

function notesSection(m, busy) {
  const id = m.meeting;
  const d = state.meetingDetails.get(id);
  const items = !d || d.loading ? [el("li", { class: "help", text: "Loading notes…" })]
    : d.error ? [el("li", { class: "error", text: "Notes not loaded: " + d.error })]
    : d.notes.length ? d.notes.map(noteItem)
    : [el("li", { class: "help", text: "No notes yet." })];
  const attended = [...new Set((d?.attendance || []).map((a) => a.user))];
  let form = null;
  if (m.status !== "cancelled") {
    const kind = drafted(el("select", { id: `${id}-note-kind` }, ...NOTE_KINDS.map(([value, text]) => el("option", { value, text }))), `${id}-note-kind`, "notes");
    const text = drafted(el("textarea", { id: `${id}-note-text`, rows: "3", maxlength: "8000" }), `${id}-note-text`, "");
    form = el(
      "form",
      {
        class: "note-form",
        "aria-label": `Add a note to “${m.title}”`,
        onsubmit: (ev) => {
          ev.preventDefault();
          addNote(m);
        },
      },
      el("label", { for: kind.id, text: "Kind" }),
      kind,
      el("label", { for: text.id, text: "Note" }),
      text,
      el("button", { type: "submit", class: "small", text: "Add note", disabled: busy }),
    );
  }
  return el(
    "section",
    { class: "notes", "aria-label": `Notes of “${m.title}”` },
    el("h5", { text: "Notes" }),
    el("ul", { class: "note-list" }, ...items),
    attended.length ? el("p", { class: "help attendance", text: `In the meeting's call: ${attended.map(displayName).join(", ")}` }) : null,
    form,
  );
}

function noteItem(n) {
  return el(
    "li",
    { class: `note ${n.kind}`, "data-note": n.note },
    el(
      "span",
      { class: "note-head" },
      el("span", { class: "note-kind", text: KIND_TEXT[n.kind] || n.kind }),
      ` ${displayName(n.author?.user)}, `,
      el("time", { datetime: new Date(n.at).toISOString(), text: fmtWhen(n.at) }),
    ),
    el("p", { class: "note-text", text: n.text }),
  );
}

// ---------------------------------------------------------------- reminders

function reminderText(r) {
  const ms = r.starts_at - Date.now();
  return ms > 0 ? `“${r.title}” starts in ${Math.ceil(ms / 60000)} min` : `“${r.title}” is starting`;
}

function dismiss(id) {
  if (state.reminders.delete(id)) changed("reminders");
}

function renderReminders() {
  const items = state.me ? [...state.reminders.values()].map(reminderItem) : [];
  update($("reminders"), items);
}

function reminderItem(r) {
  const m = state.meetings.get(r.meeting);
  const canJoin = m && windowOpen(m) && !(callActive() && state.call.room === m.room) && state.me.role !== "admin";
  return el(
    "div",
    { class: "reminder", role: "group", "aria-label": "Meeting reminder", "data-meeting": r.meeting },
    el("p", { class: "reminder-title" }, el("strong", { text: reminderText(r) })),
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "small", text: "Open room", "aria-label": `Open the room of “${r.title}”`, onclick: () => (dismiss(r.meeting), showRoom(r.room)) }),
      canJoin ? el("button", { type: "button", class: "small secondary", text: "Join call", "aria-label": `Join the call of “${r.title}”`, disabled: callActive(), onclick: () => (dismiss(r.meeting), join(m)) }) : null,
      el("button", { type: "button", class: "small secondary", text: "Dismiss", "aria-label": `Dismiss the reminder of “${r.title}”`, onclick: () => dismiss(r.meeting) }),
    ),
  );
}

// ---------------------------------------------------------------- the calendar feed

async function toggleFeed() {
  const box = $("feed-box");
  const open = box.hidden;
  box.hidden = !open;
  $("feed-open").setAttribute("aria-expanded", String(open));
  if (open) await loadFeed(false);
}

async function loadFeed(reset) {
  showError($("feed-error"), "");
  $("feed-status").textContent = "";
  $("feed-reset").disabled = true;
  try {
    const ok = await state.conn.request("meeting.feed", reset ? { reset: true } : {});
    $("feed-url").value = ok.url;
    if (reset) $("feed-status").textContent = "A new address: the old one no longer works.";
  } catch (e) {
    showError($("feed-error"), "No calendar address: " + e.message);
  } finally {
    $("feed-reset").disabled = false;
  }
}

async function copyFeed() {
  const input = $("feed-url");
  if (!input.value) return;
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select(); // no clipboard API here (or no permission): the old way
    document.execCommand("copy");
  }
  $("feed-status").textContent = "Address copied.";
}
