// Notes on a call (call.note): once an answered call has ended, its one-line summary offers
// "Add call note" to a party who may write one (not an HCP; admins have no calls), and the summary
// stays up while the note is being written. The call panel itself is call-ui.js.
import { state, subscribe } from "./state.js";
import { $, announce, showError } from "./ui.js";

const SAVED_SHOWN_MS = 2000; // "Note saved." stays this long before the summary may close

let note = fresh(); // the note of the call the summary shows
function fresh(call = null) {
  return { call, open: false, saving: false, saved: false };
}
let onDone = () => {};

/** Whether the signed-in user may note `call`: a call that was answered, by a party who is not an hcp. */
export const canNoteCall = (call) => !!call?.id && !!call.connectedAt && !!state.me && state.me.role !== "hcp" && state.me.role !== "admin";

/** Whether a note of `call` is being written (its summary must stay). */
export const callNoteOpen = (call) => !!call && note.call === call.id && (note.open || note.saving);

/** `done(call)` runs when the note form closes (saved or not): the summary may go then. */
export function initCallNote(done) {
  onDone = done;
  $("call-note-open").addEventListener("click", () => {
    note.open = true;
    note.saved = false;
    showError($("call-note-error"), "");
    render();
    $("call-note-text").focus();
  });
  $("call-note-close").addEventListener("click", () => close());
  $("call-note-form").addEventListener("submit", save);
  subscribe(["call", "me"], render);
}

function close(call = state.call) {
  note.open = false;
  render();
  onDone(call);
}

async function save(ev) {
  ev.preventDefault();
  const call = state.call;
  const text = $("call-note-text").value.trim();
  if (!call || !text || note.saving) {
    if (!text) showError($("call-note-error"), "Write the note first.");
    return;
  }
  note.saving = true;
  render();
  try {
    await state.conn.request("call.note", { call: call.id, kind: $("call-note-kind").value, text });
    note.saving = false;
    note.open = false;
    note.saved = true;
    $("call-note-text").value = "";
    render();
    announce("Call note saved.");
    setTimeout(() => onDone(call), SAVED_SHOWN_MS);
  } catch (e) {
    note.saving = false;
    render();
    showError($("call-note-error"), "Note not saved: " + e.message);
  }
}

function render() {
  const call = state.call;
  const box = $("call-note");
  const show = !!call && call.status === "ended" && canNoteCall(call);
  box.hidden = !show;
  if (!show) return;
  if (note.call !== call.id) {
    note = fresh(call.id);
    $("call-note-text").value = "";
    showError($("call-note-error"), "");
  }
  $("call-note-open").hidden = note.open || note.saving;
  $("call-note-open").setAttribute("aria-expanded", String(note.open));
  $("call-note-form").hidden = !(note.open || note.saving);
  $("call-note-save").disabled = note.saving;
  $("call-note-save").textContent = note.saving ? "Saving…" : "Save note";
  $("call-note-saved").textContent = note.saved ? "Note saved." : "";
}
