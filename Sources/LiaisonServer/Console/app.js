// Liaison console: wires the modules together. Sign-in (signin.js) opens the connection
// (connection.js); server events go to the module that handles them; after every (re)connect's
// catch-up each module refreshes what it shows. Modules share state through state.js.
import { endAllCalls, events as callEvents, initCalls } from "./call-ui.js";
import { chatSynced, events as chatEvents, forgetChat, initChat, sendMessage } from "./chat.js";
import { forgetFiles, initFiles } from "./files.js";
import { events as meetingEvents, initMeetings, meetingsSynced } from "./meetings.js";
import { events as modEvents, initMod } from "./mod.js";
import { initPeople, peopleSynced } from "./people.js";
import { events as presenceEvents, initPresence, presenceSynced, watchContacts } from "./presence.js";
import { events as roomEvents, initRooms } from "./rooms.js";
import { initSignIn, loadInfo, resumeSession } from "./signin.js";
import { changed, state, subscribe } from "./state.js";

const handlers = { ...presenceEvents, ...roomEvents, ...chatEvents, ...modEvents, ...callEvents, ...meetingEvents };

initPresence();
initRooms();
initChat();
initFiles({ sendMessage });
initPeople();
initMod();
initCalls();
initMeetings();
subscribe(["rooms"], watchContacts); // new room members become contacts
initSignIn({
  onEvent: (frame) => handlers[frame.type]?.(frame),
  async onSynced() {
    await chatSynced();
    presenceSynced();
    peopleSynced();
    meetingsSynced();
  },
  onSignedOut() {
    endAllCalls();
    forgetChat();
    forgetFiles();
  },
});

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
    state.conn?.simulateOffline(ms);
  },
};

changed(...Object.keys(state)); // first render of the empty lists
await loadInfo();
resumeSession();
