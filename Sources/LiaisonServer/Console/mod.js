// Medical on-demand: "Ask an expert" for HCPs and MSLs (with their requests' fate), and the
// expert inbox for FMDs (offers with Claim, which turns to "taken" when another expert wins).
import { startCall } from "./call-ui.js";
import { openRoom, refreshRooms } from "./rooms.js";
import { changed, learnName, nameOf, state, subscribe } from "./state.js";
import { $, announce, el, fmtDuration, roleName, update } from "./ui.js";

const OFFER_BUTTON = {
  open: "Claim",
  claiming: "Claiming…",
  won: "Claimed by you",
  taken: "Claim — taken",
  withdrawn: "Claim — withdrawn",
  expired: "Claim — expired",
};

export function initMod() {
  $("ask-form").addEventListener("submit", ask);
  subscribe(["me"], () => {
    const role = state.me?.role;
    $("ask").hidden = !(role === "hcp" || role === "msl");
    $("inbox").hidden = role !== "fmd";
  });
  subscribe(["requests", "names"], renderRequests);
  subscribe(["offers", "names"], renderOffers);
  // Offers' countdowns and expiry.
  setInterval(() => {
    let expired = false;
    for (const o of state.offers.values()) {
      if (o.state === "open" && o.expires_at && o.expires_at <= Date.now()) {
        o.state = "expired";
        expired = true;
      }
    }
    if (expired) changed("offers");
    else renderOfferTimes();
  }, 1000);
}

export const events = {
  "mod.offer"(ev) {
    learnName(ev.from?.user, ev.from?.name);
    const prev = state.offers.get(ev.request);
    if (prev && prev.state !== "open") return;
    state.offers.set(ev.request, { ...ev, state: "open" });
    changed("offers");
    announce(`New ${ev.mode} request in ${ev.area} from ${nameOf(ev.from?.user)}.`);
  },
  "mod.taken": offerClosed,
  "mod.withdrawn": offerClosed,
  async "mod.claimed"(ev) {
    learnName(ev.by?.user, ev.by?.name);
    const r = state.requests.get(ev.request) || { request: ev.request, area: "", question: "", mode: ev.mode };
    state.requests.set(ev.request, Object.assign(r, { status: "claimed", by: ev.by, room: ev.room }));
    changed("requests");
    announce(`${nameOf(ev.by?.user)} claimed your question${ev.mode === "call" ? " and will call you" : ""}.`);
    await refreshRooms();
    openRoom(ev.room);
  },
  "mod.expired"(ev) {
    const r = state.requests.get(ev.request);
    if (r) r.status = "expired";
    changed("requests");
    announce("No expert claimed your request in time.");
  },
};

function offerClosed(ev) {
  const offer = state.offers.get(ev.request);
  if (!offer || offer.state === "won") return;
  offer.state = ev.type === "mod.taken" ? "taken" : ev.reason === "expired" ? "expired" : "withdrawn";
  changed("offers");
  announce(`Request in ${offer.area} ${offer.state}.`);
}

async function ask(ev) {
  ev.preventDefault();
  const area = $("ask-area").value.trim();
  const question = $("ask-question").value.trim();
  const mode = $("ask-mode").value;
  if (!area || !question) return;
  try {
    const ok = await state.conn.request("mod.request", { area, question, mode });
    state.requests.set(ok.request, { request: ok.request, area, question, mode, offered: ok.offered, status: "waiting" });
    $("ask-question").value = "";
    announce(ok.offered ? `Your question went to ${ok.offered} expert${ok.offered === 1 ? "" : "s"}.` : "No expert is available right now; your question waits for one.");
  } catch (e) {
    announce("Could not ask: " + e.message);
    state.requests.set("failed-" + Date.now(), { area, question, mode, status: "failed: " + e.message });
  }
  changed("requests");
}

async function claim(request) {
  const offer = state.offers.get(request);
  if (!offer || offer.state !== "open") return;
  offer.state = "claiming";
  changed("offers");
  try {
    const ok = await state.conn.request("mod.claim", { request });
    offer.state = "won";
    offer.room = ok.room;
    changed("offers");
    announce(`You claimed the request from ${nameOf(offer.from?.user)}.`);
    await refreshRooms();
    openRoom(ok.room);
    if (offer.mode === "call") startCall("video", ok.room);
  } catch (e) {
    offer.state = e.code === "already_claimed" ? "taken" : e.code === "expired" || e.code === "not_found" ? "expired" : "open";
    changed("offers");
    if (offer.state === "open") announce("Claim failed: " + e.message);
  }
}

async function decline(request) {
  try {
    await state.conn.request("mod.decline", { request });
  } catch (e) {
    console.warn("mod.decline:", e.message);
  }
  state.offers.delete(request);
  changed("offers");
}

async function cancelRequest(request) {
  try {
    await state.conn.request("mod.cancel", { request });
    const r = state.requests.get(request);
    if (r) r.status = "cancelled";
  } catch (e) {
    announce("Could not cancel: " + e.message);
  }
  changed("requests");
}

const small = (text, onclick) => el("button", { type: "button", class: "secondary small", text, onclick });

function renderRequests() {
  const ul = $("my-requests");
  ul.replaceChildren();
  for (const r of [...state.requests.values()].reverse()) {
    let status = r.status;
    let action = null;
    if (r.status === "waiting") {
      status = `waiting for an expert (offered to ${r.offered ?? 0})`;
      action = small("Cancel", () => cancelRequest(r.request));
    } else if (r.status === "claimed") {
      status = `claimed by ${nameOf(r.by?.user)}`;
      action = small("Open conversation", () => openRoom(r.room));
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

function renderOffers() {
  const ul = $("offers");
  const offers = [...state.offers.values()].reverse();
  $("inbox-empty").hidden = offers.length > 0;
  update(ul, offers.map(offerItem));
  renderOfferTimes();
}

function offerItem(o) {
  const claimBtn = el("button", { type: "button", class: "claim", disabled: o.state !== "open", text: OFFER_BUTTON[o.state] || o.state, onclick: () => claim(o.request) });
  return el(
    "li",
    { class: "offer " + o.state, "data-request": o.request, "data-state": o.state },
    el("span", { class: "area", text: `${o.area} · ${o.mode}` }),
    el("q", { text: o.question }),
    el("span", { class: "from", text: `from ${nameOf(o.from?.user)} (${roleName(o.from?.role).toLowerCase()})` }),
    el("span", { class: "expires", "data-expires": o.expires_at || "" }),
    el(
      "span",
      { class: "offer-actions" },
      claimBtn,
      o.state === "open" ? small("Decline", () => decline(o.request)) : null,
      o.state === "won" && o.room ? small("Open conversation", () => openRoom(o.room)) : null,
    ),
  );
}

function renderOfferTimes() {
  for (const span of document.querySelectorAll("#offers .expires")) {
    const exp = Number(span.dataset.expires);
    span.textContent = span.closest("li").dataset.state === "open" && exp ? `expires in ${fmtDuration(exp - Date.now())}` : "";
  }
}
