// The people directory: "Find people" searches the colleagues you may reach (user.search,
// debounced) and lists them with role and status, each with Chat and Call; MSLs and FMDs can
// also pick several people for a group chat. Other panels borrow the list to pick people
// (`state.picker`: a meeting's invitees, whom to forward a meeting to): each row then has one more
// button, and a bar above the list says what is being picked.
import { callActive, startCall } from "./call-ui.js";
import { statusOf } from "./presence.js";
import { openDirect, openGroup } from "./rooms.js";
import { changed, learnName, nameOf, set, state, subscribe } from "./state.js";
import { $, announce, debounce, dot, el, roleName, showError, update } from "./ui.js";

const SEARCH_DELAY_MS = 200;
const SEARCH_LIMIT = 20;
const REFRESH_MS = 30000; // the listing's statuses are a snapshot: refresh them now and then

let searchSeq = 0;
const refusals = new Map(); // user -> why the server refused a chat with them
const picked = new Set(); // users picked for a group chat

export function initPeople() {
  const input = $("people-query");
  const later = debounce(() => search(input.value), SEARCH_DELAY_MS);
  input.addEventListener("input", later);
  input.addEventListener("focus", () => search(input.value)); // colleagues who connected since
  setInterval(() => document.visibilityState === "visible" && search(input.value), REFRESH_MS);
  $("people-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    search(input.value);
  });
  $("group-start").addEventListener("click", startGroup);
  $("group-clear").addEventListener("click", () => {
    picked.clear();
    changed("people");
  });
  $("pick-done").addEventListener("click", () => state.picker?.done());
  subscribe(["people", "presence", "names", "call", "me", "picker", "meetings"], renderPeople);
  subscribe(["me"], () => {
    if (state.me) return;
    refusals.clear();
    picked.clear();
    input.value = "";
  });
}

/** After every (re)connect: list (or refresh) the people matching the current query. */
export function peopleSynced() {
  search($("people-query").value);
}

async function search(raw) {
  const query = raw.trim();
  const seq = ++searchSeq;
  if (!state.conn?.ready) return;
  try {
    const ok = await state.conn.request("user.search", query ? { query, limit: SEARCH_LIMIT } : { limit: SEARCH_LIMIT });
    if (seq !== searchSeq) return; // a newer search is under way
    for (const u of ok.users) learnName(u.user, u.name);
    set("people", { query, users: ok.users });
  } catch (e) {
    if (seq === searchSeq) set("people", { query, users: [], error: e.message });
  }
}

async function chatWith(user) {
  try {
    await openDirect(user);
  } catch (e) {
    refused(user, e);
  }
}

async function callUser(user) {
  try {
    await startCall("video", await openDirect(user));
  } catch (e) {
    refused(user, e);
  }
}

function refused(user, e) {
  announce(`Cannot reach ${nameOf(user)}: ${e.message}`);
  // The role policy's answer stands for the session; anything else (e.g. a network loss) may pass.
  if (e.code !== "forbidden" && e.code !== "not_found") return;
  refusals.set(user, e.message);
  changed("people");
}

async function startGroup() {
  const users = [...picked];
  if (users.length < 2) return;
  $("group-error").textContent = "";
  try {
    await openGroup(users);
    picked.clear();
    changed("people");
  } catch (e) {
    $("group-error").textContent = "Could not start the group chat: " + e.message;
  }
}

function renderPeople() {
  const ul = $("people");
  const result = state.people;
  const info = $("people-status");
  renderPickBar();
  if (!state.me || !result) {
    ul.replaceChildren();
    info.textContent = "";
    renderGroupBar();
    return;
  }
  const n = result.users.length;
  const summary = result.error ? "Search failed: " + result.error
    : n === 0 ? (result.query ? `Nobody found for “${result.query}”.` : "Nobody you can reach yet.")
    : `${n === SEARCH_LIMIT ? "First " : ""}${n} ${n === 1 ? "person" : "people"}${result.query ? ` matching “${result.query}”` : ""}`;
  if (info.textContent !== summary) info.textContent = summary; // a live region: only news
  const canGroup = state.me.role === "msl" || state.me.role === "fmd";
  update(ul, result.users.map((u) => personRow(u, canGroup)));
  renderGroupBar();
}

function personRow(u, canGroup) {
  const name = nameOf(u.user);
  const s = statusOf(u.user, u.status);
  const refusal = refusals.get(u.user);
  const pick = canGroup
    ? el("label", { class: "pick" }, el("input", {
      type: "checkbox",
      checked: picked.has(u.user),
      "aria-label": `Add ${name} to a group chat`,
      onchange: (ev) => {
        if (ev.target.checked) picked.add(u.user);
        else picked.delete(u.user);
        renderGroupBar();
      },
    }), "Group")
    : null;
  return el(
    "li",
    { class: "person", "data-user": u.user, "data-status": s.status },
    el(
      "div",
      { class: "person-info" },
      el("strong", { class: "person-name", text: name }),
      el("span", { class: "person-role", text: roleName(u.role) + (u.areas?.length ? ` · ${u.areas.join(", ")}` : "") }),
      el("span", { class: "person-status" }, dot(s.status), el("span", { class: "status-text", text: s.text })),
    ),
    el(
      "div",
      { class: "person-actions" },
      el("button", { type: "button", class: "secondary small", text: "Chat", "aria-label": `Chat with ${name}`, disabled: !!refusal, onclick: () => chatWith(u.user) }),
      el("button", { type: "button", class: "small", text: "Call", "aria-label": `Call ${name}`, disabled: !!refusal || callActive(), onclick: () => callUser(u.user) }),
      pick,
      pickerButton(u, name),
    ),
    refusal ? el("p", { class: "error", text: `Cannot chat or call: ${refusal}` }) : null,
    pickerNote(u),
  );
}

/** The borrowed row button ("Invite", "Forward"): disabled, with its label saying why, when it cannot act. */
function pickerButton(u, name) {
  const p = state.picker;
  if (!p) return null;
  const st = p.status(u);
  const label = st === "ok" ? `${p.verb} ${name}` : st === "picked" ? `${name}: ${p.pickedText}` : `${p.verb} ${name}: ${st}`;
  return el("button", { type: "button", class: "small picker", text: st === "picked" ? p.pickedText : p.verb, "aria-label": label, disabled: st !== "ok", onclick: () => p.pick(u) });
}

/** Why the picker's button is disabled for a person (not for "already picked"). */
function pickerNote(u) {
  const st = state.picker?.status(u);
  return st && st !== "ok" && st !== "picked" ? el("p", { class: "help pick-why", text: st }) : null;
}

function renderPickBar() {
  const p = state.me && state.picker;
  $("pick-bar").hidden = !p;
  $("pick-what").textContent = p ? p.what : "";
  $("pick-done").textContent = p?.doneText || "Done";
  showError($("pick-error"), p?.error || "");
}

function renderGroupBar() {
  const users = [...picked];
  $("group-bar").hidden = users.length === 0;
  $("group-members").textContent = users.length ? `Group chat with ${users.map(nameOf).join(", ")}` : "";
  $("group-start").disabled = users.length < 2;
}
