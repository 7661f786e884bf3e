// Files in the conversation: `Attach` (or dropping files on the chat) uploads them with
// POST /v1/files and sends one message carrying them (with the text typed so far, if any);
// messages with attachments show images as thumbnails and other files as download links.
// The server wants the session's bearer token on every file request, and a browser cannot put a
// header on <img src> or <a href>: bytes are fetched with fetch() and shown from blob: URLs.
import { state, subscribe } from "./state.js";
import { $, announce, el, showError } from "./ui.js";

const MAX_ATTACHMENTS = 10; // per message (the server's limit)
const THUMBNAIL_MAX_BYTES = 8 << 20; // larger images are offered as a download, not fetched to show

let send = async () => {}; // (room, fields) => msg.send with retries, from chat.js
// This module's own bookkeeping, forgotten at sign-out.
let local = fresh();
function fresh() {
  // images: file id -> Promise of a blob: URL; nodes: "room/seq/file" -> the rendered attachment
  return { images: new Map(), urls: [], nodes: new Map(), busy: false };
}

/** `sendMessage(room, fields)` sends a msg.send (retrying across reconnects) and resolves with its ok. */
export function initFiles({ sendMessage }) {
  send = sendMessage;
  subscribe(["openRoom", "rooms", "me"], renderAttach);
  subscribe(["openRoom"], () => showError($("attach-error"), ""));
  const input = $("attach-input");
  $("attach").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const files = [...input.files];
    input.value = ""; // the same file may be chosen again
    attach(files);
  });
  // Drag and drop onto the conversation.
  const chat = $("chat");
  let depth = 0;
  const carriesFiles = (ev) => [...(ev.dataTransfer?.types || [])].includes("Files");
  chat.addEventListener("dragenter", (ev) => {
    if (!carriesFiles(ev) || !canAttach()) return;
    ev.preventDefault();
    depth++;
    chat.classList.add("dropping");
  });
  chat.addEventListener("dragover", (ev) => {
    if (!carriesFiles(ev) || !canAttach()) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "copy";
  });
  chat.addEventListener("dragleave", () => {
    if (--depth <= 0) {
      depth = 0;
      chat.classList.remove("dropping");
    }
  });
  chat.addEventListener("drop", (ev) => {
    depth = 0;
    chat.classList.remove("dropping");
    if (!carriesFiles(ev)) return;
    ev.preventDefault(); // never let the browser open the file instead
    if (canAttach()) attach([...ev.dataTransfer.files]);
  });
}

/** Frees the blob: URLs of the session (at sign-out). */
export function forgetFiles() {
  for (const url of local.urls) URL.revokeObjectURL(url);
  local = fresh();
  showError($("attach-error"), "");
  $("attach-status").textContent = "";
}

const canAttach = () => !!state.openRoom && state.rooms.has(state.openRoom) && state.me?.role !== "admin" && !local.busy;

function renderAttach() {
  $("attach").disabled = !canAttach();
}

/** Uploads `files` and sends them in one message to the open room, with the composer's text. */
async function attach(files) {
  const room = state.openRoom;
  if (!files.length || !canAttach()) return;
  const error = $("attach-error");
  const status = $("attach-status");
  showError(error, "");
  if (files.length > MAX_ATTACHMENTS) {
    showError(error, `At most ${MAX_ATTACHMENTS} files go in one message; you chose ${files.length}.`);
    return;
  }
  local.busy = true;
  renderAttach();
  status.textContent = files.length === 1 ? `Uploading ${files[0].name}…` : `Uploading ${files.length} files…`;
  try {
    const results = await Promise.allSettled(files.map(upload));
    const uploaded = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${files[i].name}: ${r.reason.message}`] : []));
    if (uploaded.length) {
      status.textContent = "Sending…";
      const input = $("message");
      const body = input.value.trim() ? input.value : "";
      const fields = { attachments: uploaded.map((u) => ({ file: u.file })) };
      if (body) fields.body = body;
      try {
        await send(room, fields);
        if (body && input.value === body) input.value = "";
        announce(uploaded.length === 1 ? `Sent ${uploaded[0].name}` : `Sent ${uploaded.length} files`);
      } catch (e) {
        failed.push(`the message was not sent: ${e.message}`);
      }
    }
    if (failed.length) showError(error, `Not sent — ${failed.join("; ")}`);
  } finally {
    status.textContent = "";
    local.busy = false;
    renderAttach();
  }
}

/** POST /v1/files: resolves with {file, name, size, content_type, sha256}, or rejects saying why. */
async function upload(file) {
  let res;
  try {
    res = await fetch("/v1/files", {
      method: "POST",
      headers: {
        Authorization: "Bearer " + state.conn.token,
        "Content-Type": file.type || "application/octet-stream",
        "X-Filename": encodeURIComponent(file.name),
        "X-Device": state.device,
      },
      body: file,
      cache: "no-store",
    });
  } catch {
    // A refusal before the body is read closes the connection, which a browser may see as a
    // network error rather than the answer (too large is the usual reason).
    throw new Error(`could not be uploaded (${fmtSize(file.size)}; the server may not take files this large)`);
  }
  const answer = await res.json().catch(() => ({}));
  if (res.status !== 201 || !answer.file) throw new Error(answer.message || `HTTP ${res.status}`);
  return answer;
}

/** GET /v1/files/{file} with the session's token: a Blob of the file. */
async function fetchFile(file) {
  const res = await fetch("/v1/files/" + encodeURIComponent(file), {
    headers: { Authorization: "Bearer " + state.conn.token, "X-Device": state.device },
    cache: "no-store",
  });
  if (!res.ok) {
    const answer = await res.json().catch(() => ({}));
    throw new Error(answer.message || `HTTP ${res.status}`);
  }
  return res.blob();
}

function objectURL(blob) {
  const url = URL.createObjectURL(blob);
  local.urls.push(url);
  return url;
}

/** The blob: URL of an image, fetched once per session. */
function imageURL(file) {
  if (!local.images.has(file)) {
    local.images.set(file, fetchFile(file).then(objectURL));
  }
  return local.images.get(file);
}

/** Saves a file to the user's downloads, under its name. */
async function download(att, button) {
  button.disabled = true;
  try {
    const url = URL.createObjectURL(await fetchFile(att.file));
    const a = el("a", { href: url, download: att.name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) {
    announce(`Could not download ${att.name}: ${e.message}`);
    button.title = `Could not download: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

/** 0 B, 980 B, 12.4 KB, 3.1 MB (decimal units, as file managers show them). */
export function fmtSize(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let v = bytes;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** The attachments of message `m` (a list), or null when it has none. Kept across re-renders. */
export function renderAttachments(m) {
  if (!m.attachments?.length) return null;
  const items = m.attachments.map((att) => {
    const key = `${m.room}/${m.seq}/${att.file}`;
    if (!local.nodes.has(key)) local.nodes.set(key, attachmentNode(att));
    return local.nodes.get(key);
  });
  return el("ul", { class: "attachments", "aria-label": "Attachments" }, ...items);
}

function attachmentNode(att) {
  const size = fmtSize(att.size);
  const link = el("button", {
    type: "button",
    class: "link file-link",
    title: `Download ${att.name}`,
    "aria-label": `Download ${att.name}, ${size}`,
  }, att.name);
  link.addEventListener("click", () => download(att, link));
  const line = el("span", { class: "file-line" }, link, " ", el("span", { class: "file-size", text: size }));
  if (!att.content_type.startsWith("image/") || att.size > THUMBNAIL_MAX_BYTES) {
    return el("li", { class: "attachment file", "data-file": att.file }, line);
  }
  const img = el("img", { class: "thumb", alt: att.name, "data-file": att.file });
  const item = el("li", { class: "attachment image loading", "data-file": att.file }, img, line);
  img.addEventListener("load", () => item.classList.remove("loading"));
  img.addEventListener("error", () => {
    // A type the browser cannot show (e.g. HEIC): the link stays.
    if (img.src) {
      img.remove();
      item.classList.remove("loading");
      item.classList.replace("image", "file");
    }
  });
  imageURL(att.file).then(
    (url) => (img.src = url),
    (e) => {
      item.classList.remove("loading");
      img.replaceWith(el("span", { class: "error thumb-error", text: `Image not shown: ${e.message}` }));
    },
  );
  return item;
}
