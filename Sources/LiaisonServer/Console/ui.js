// Small DOM helpers shared by the console's modules: element lookup and creation, the screen
// reader announcer, time formats, presence dots and role labels.

export const $ = (id) => document.getElementById(id);

/** An element with attributes (`class`, `text`, `on<event>` handlers, booleans) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

/** Says `text` to screen readers (a fresh text node, so repeated messages are announced too). */
export function announce(text) {
  const a = $("announcer");
  a.textContent = "";
  setTimeout(() => (a.textContent = text), 30);
}

/** Shows `text` in an error paragraph, or hides it when `text` is empty. */
export function showError(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** 0:42, 12:03, 1:02:03 */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A coloured presence dot; the status is always also written out next to it. */
export function dot(status) {
  return el("span", { class: `dot ${status}`, "aria-hidden": "true" });
}

const ROLE_NAMES = {
  hcp: "Healthcare professional",
  msl: "Medical science liaison",
  fmd: "Field medical director",
  admin: "Administrator",
};

export const roleName = (role) => ROLE_NAMES[role] || role || "";

/**
 * Puts `nodes` in `container`, keeping every child that would be rebuilt identically (so
 * re-renders do not disturb focus, selection or screen readers).
 */
export function update(container, nodes) {
  const old = new Map([...container.children].map((n) => [n.outerHTML, n]));
  const next = nodes.map((n) => {
    const same = old.get(n.outerHTML);
    old.delete(n.outerHTML);
    return same || n;
  });
  if (next.length === container.children.length && next.every((n, i) => n === container.children[i])) return;
  keepFocus(container, () => container.replaceChildren(...next));
}

/** Runs `render` (which rebuilds `container`) and gives focus back to the same control, if it had it. */
function keepFocus(container, render) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? focusKey(active) : null;
  render();
  if (!key) return;
  for (const n of container.querySelectorAll("button, input, select, textarea")) {
    if (focusKey(n) === key) return n.focus();
  }
}

const focusKey = (n) => {
  const owner = n.closest("[data-user], [data-room], [data-request], [data-call], [data-meeting]");
  const d = owner ? owner.dataset : {};
  const label = n === owner ? "" : n.getAttribute("aria-label") || n.id || n.textContent;
  return [n.tagName, label, d.user || d.room || d.request || d.call || d.meeting || ""].join("|");
};
