// The sandbox chat: one card per simulated person, their chat on the left and, on the
// right, what batchbot did with their messages. Everything shown comes from the server's
// event stream (/api/events); sending only posts the message and waits to hear of it.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const cards = new Map(); // person id → their card's state
let config = null;
let lastSeq = -1;
const CHANNEL_NAMES = { telegram: "Telegram", whatsapp: "WhatsApp", instagram: "Instagram", messenger: "Messenger" };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) alert(answer.error || response.statusText);
  return answer;
}

function clock(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0").slice(0, 2);
}

function sampleUrl(name) { return `/static/${name}.svg`; }

// -- a person's card ------------------------------------------------------------------
function addCard(person) {
  const node = $("#person-template").content.firstElementChild.cloneNode(true);
  node.dataset.person = person.id;
  node.dataset.channel = person.channel;
  node.dataset.conversation = person.conversation;
  $(".name", node).textContent = person.name;
  $(".channel", node).textContent = CHANNEL_NAMES[person.channel] || person.channel;
  $(".commands", node).hidden = person.channel !== "telegram"; // commands are Telegram's
  const card = { id: person.id, channel: person.channel, node, picked: [], editing: null, deadline: null, draft: null, stoppedDraft: null, typingUntil: 0 };
  cards.set(person.id, card);
  const samples = $(".samples", node);
  for (const name of config.samples) {
    const img = el("img", { src: sampleUrl(name), alt: name, "data-name": name, className: "sample" });
    img.onclick = () => {
      card.picked = card.picked.includes(name) ? card.picked.filter((n) => n !== name) : [...card.picked, name];
      img.classList.toggle("picked");
    };
    samples.append(img);
  }
  samples.append(el("small", {}, "Pick one photo, or several for an album; the text box is the caption."));
  $(".photo", node).onclick = () => { samples.hidden = !samples.hidden; };
  $(".voice", node).hidden = !["telegram", "whatsapp"].includes(person.channel);
  $(".voice", node).onclick = () => post(`/api/people/${person.id}/voice`, {});
  $(".compose", node).onsubmit = (event) => { event.preventDefault(); send(card); };
  $(".cancel-edit", node).onclick = () => stopEditing(card);
  $(".owner-writes", node).onclick = () => {
    const input = $(".message-input", node);
    const text = input.value.trim() || "Hi, the owner here: I'll take care of you myself.";
    input.value = "";
    post(`/api/people/${card.id}/owner`, { text });
  };
  $(".resume", node).onclick = () => post(`/api/people/${card.id}/resume`, {});
  for (const button of node.querySelectorAll(".command")) {
    button.onclick = () => post(`/api/people/${card.id}/messages`, { text: button.dataset.command });
  }
  $("#people").append(node);
  return card;
}

// The box is emptied (and the photos unpicked) as the message leaves, not when the
// delivery is confirmed: what is typed meanwhile is the next message, never lost to a
// late clear.
async function send(card) {
  const input = $(".message-input", card.node);
  const text = input.value;
  input.value = "";
  input.focus();
  if (card.editing !== null) {
    const editing = card.editing;
    stopEditing(card);
    await post(`/api/people/${card.id}/edit`, { message_id: editing, text });
  } else if (card.picked.length) {
    const photos = card.picked;
    card.picked = [];
    card.node.querySelectorAll(".samples img").forEach((img) => img.classList.remove("picked"));
    $(".samples", card.node).hidden = true;
    await post(`/api/people/${card.id}/messages`, { text, photos });
  } else if (text.trim()) {
    await post(`/api/people/${card.id}/messages`, { text });
  }
}

function startEditing(card, messageId, text) {
  card.editing = messageId;
  $(".editing", card.node).hidden = false;
  const input = $(".message-input", card.node);
  input.value = text;
  input.focus();
}

function stopEditing(card) {
  card.editing = null;
  $(".editing", card.node).hidden = true;
  $(".message-input", card.node).value = "";
}

// -- what the events show ---------------------------------------------------------------
function bubble(card, classes, event, content) {
  const chat = $(".chat", card.node);
  const node = el("div", { className: "bubble " + classes }, ...content, el("span", { className: "meta" }, clock(event.at_ms)));
  chat.append(node);
  chat.scrollTop = chat.scrollHeight;
  return node;
}

function photo(name) { return name ? el("img", { src: sampleUrl(name), alt: name }) : null; }

function showInChat(card, event) {
  const d = event.data;
  if (event.kind === "sent" && d.voice) {
    const node = bubble(card, "mine voice", event, [el("span", { className: "note-mark" }, `▶ voice note, ${d.voice} s`),
      el("span", { className: "text" })]);
    node.dataset.messageId = d.message_id;
  } else if (event.kind === "transcribing" || event.kind === "transcript") {
    const node = $(`.bubble.voice[data-message-id="${d.message_id}"]`, card.node);
    const words = d.transcript ? `“${d.transcript}”` : d.transcript_error ? `(no transcript: ${d.transcript_error})` : "transcribing…";
    if (node) $(".text", node).textContent = words;
  } else if (event.kind === "sent") {
    const node = bubble(card, "mine", event, [photo(d.photo), el("span", { className: "text" }, d.text || "")]);
    node.dataset.messageId = d.message_id;
    if (d.text && !d.photo && card.channel === "telegram") { // only Telegram has edits
      const edit = el("button", { type: "button", className: "edit", title: "Edit this message" }, "edit");
      edit.onclick = () => startEditing(card, d.message_id, $(".text", node).textContent);
      node.insertBefore(edit, node.lastChild);
    }
  } else if (event.kind === "owner") {
    bubble(card, "owner", event, [el("span", { className: "text" }, d.text)]);
  } else if (event.kind === "paused" || event.kind === "resumed") {
    $(".resume", card.node).hidden = event.kind === "resumed";
  } else if (event.kind === "edited") {
    const node = $(`.bubble.mine[data-message-id="${d.message_id}"]`, card.node);
    if (node) { $(".text", node).textContent = d.text; $(".meta", node).textContent = clock(event.at_ms) + " · edited"; }
  } else if (event.kind === "draft") {
    if (d.draft_id === card.stoppedDraft) return; // as in Telegram: a stopped draft stays stopped
    card.draft = card.draft || bubble(card, "draft", event, [
      el("div", { className: "reasoning", hidden: true }), el("span", { className: "text" }),
      el("button", { className: "stop", type: "button", hidden: true, textContent: "■ Stop" }),
    ]);
    // Empty text is Telegram's "Thinking…" placeholder; the model's reasoning sits above.
    $(".text", card.draft).textContent = d.text || (d.reasoning ? "" : "Thinking…");
    card.draft.classList.toggle("thinking", !d.text);
    $(".reasoning", card.draft).textContent = d.reasoning;
    $(".reasoning", card.draft).hidden = !d.reasoning;
    const stop = $(".stop", card.draft);
    stop.hidden = !d.can_stop;
    stop.onclick = () => post(`/api/people/${card.id}/stop`, { draft_id: d.draft_id });
  } else if (event.kind === "stop-pressed") {
    card.stoppedDraft = d.draft_id;
    if (card.draft) { card.draft.remove(); card.draft = null; }
    bubble(card, "note", event, [el("span", { className: "text" }, "you stopped the answer")]);
  } else if (event.kind === "reply") {
    if (card.draft) { card.draft.remove(); card.draft = null; }
    card.typingUntil = 0;
    bubble(card, "reply", event, [d.photo ? photo(null) : null, el("span", { className: "text" }, d.text)]);
  } else if (event.kind === "typing") {
    card.typingUntil = Date.now() + 5000; // Telegram shows a chat action for about 5 s
  }
}

function describe(event) {
  const d = event.data;
  const left = d.deadline_ms ? d.deadline_ms - event.at_ms : null;
  const due = left === null ? "" : left >= 50 ? ` — batch due in ${(left / 1000).toFixed(1)} s` : " — batch due now";
  switch (event.kind) {
    case "sent": return d.voice ? `you sent a voice note (${d.voice} s)` : `you sent ${d.photo ? `[photo ${d.photo}] ` : ""}${d.text ? JSON.stringify(d.text) : ""}`;
    case "transcribing": return "a worker is transcribing your voice note…";
    case "transcript": return d.transcript ? `transcript stored on the waiting message: ${JSON.stringify(d.transcript)}` : `no transcript: ${d.transcript_error}`;
    case "edited": return `you edited message ${d.message_id}: ${JSON.stringify(d.text)}`;
    case "stored": return `stored in Redis: ${d.pending} pending${due}`;
    case "deadline": return `deadline moved${due}`;
    case "claimed": return `a worker claimed batch ${d.batch_id.slice(0, 8)}: ${d.messages} message(s)`;
    case "owner": return `the owner wrote ${JSON.stringify(d.text)}`;
    case "abandoned": return {
      superseded: `batch ${d.batch_id.slice(0, 8)} superseded: more came before its answer; its answer is never sent`,
      stopped: `batch ${d.batch_id.slice(0, 8)} stopped by the person: its backend call is cancelled`,
    }[d.why] || `batch ${d.batch_id.slice(0, 8)} handed over to a human: its answer is never sent`;
    case "paused": return `taken over (${d.by}) until ${clock(d.until_ms)}: the assistant stays silent`;
    case "resumed": return "handed back: the next message starts a normal batch";
    case "backend": return `backend asked: batch ${d.batch_id.slice(0, 8)}, ${d.messages} message(s)`;
    case "backend-answer": return `backend answered ${d.status} after ${d.seconds.toFixed(2)} s`;
    case "typing": return "“typing…” shown";
    case "draft": return d.text ? `draft: ${JSON.stringify(d.text)}` : "draft: Thinking…" + (d.reasoning ? ` (reasoning: ${JSON.stringify(d.reasoning)})` : "");
    case "stop-pressed": return `Stop pressed: the backend call is cancelled (draft ${d.draft_id})`;
    case "reply": return `reply part: ${JSON.stringify(d.text)}` +
      (d.seconds_after_previous !== null ? ` (+${d.seconds_after_previous.toFixed(2)} s after the previous part)` : "");
    case "dead-letter": return `dead letter: ${d.reason}`;
    case "done": return `batch ${d.batch_id.slice(0, 8)} done`;
    default: return event.kind;
  }
}

function showInTimeline(card, event) {
  const item = el("li", { "data-kind": event.kind }, el("time", {}, clock(event.at_ms)), describe(event));
  if (event.kind === "backend-answer" && event.data.status >= 400) item.className = "bad";
  if (event.kind === "backend") {
    item.append(el("details", { className: "backend-json" }, el("summary", {}, "the JSON sent"), el("pre", {}, event.data.json)));
  }
  if (event.kind === "dead-letter" && config.console_url) {
    item.append(" ", el("a", { href: config.console_url, target: "_blank" }, "replay it in the console"));
  }
  const list = $(".timeline", card.node);
  list.append(item);
  list.scrollTop = list.scrollHeight;
  if (event.kind === "stored" || event.kind === "deadline") card.deadline = event.data.deadline_ms;
  if (event.kind === "claimed") card.deadline = null;
}

function onEvent(event) {
  if (event.seq <= lastSeq) return; // replayed after a reconnect
  lastSeq = event.seq;
  if (event.kind === "backend-mode") {
    const input = $(`#backend-mode input[value="${event.data.mode}"]`);
    if (input) input.checked = true;
    return;
  }
  const card = cards.get(event.person);
  if (!card) return;
  showInChat(card, event);
  showInTimeline(card, event);
  drawDeadline(card); // at once, not at the next frame: the bar and the timeline agree
}

// The deadline bar runs down between events and jumps back when a message moves it.
function drawDeadline(card) {
  const windowMs = config.window_seconds * 1000;
  const bar = $(".deadline .bar", card.node);
  const label = $(".deadline-label", card.node);
  const left = card.deadline === null ? 0 : Math.max(0, card.deadline - Date.now());
  bar.firstElementChild.style.width = (Math.min(1, left / windowMs) * 100).toFixed(1) + "%";
  bar.dataset.deadline = card.deadline === null ? "" : String(card.deadline);
  label.textContent = card.deadline === null ? "no batch waiting" : left > 0 ? `batch due in ${(left / 1000).toFixed(1)} s` : "batch due";
  $(".typing", card.node).hidden = Date.now() > card.typingUntil;
}

function drawDeadlines() {
  cards.forEach(drawDeadline);
  requestAnimationFrame(drawDeadlines);
}

async function start() {
  config = await (await fetch("/api/config")).json();
  $("#window").textContent = config.window_seconds;
  $("#console-link").href = config.console_url;
  for (const [mode, about] of Object.entries(config.backend_modes)) {
    const input = el("input", { type: "radio", name: "mode", value: mode, checked: mode === config.backend_mode });
    input.onchange = () => post("/api/backend", { mode });
    $("#backend-mode").append(el("label", { title: about }, input, " ", mode));
  }
  for (const channel of config.channels) {
    $("#new-channel").append(el("option", { value: channel }, CHANNEL_NAMES[channel] || channel));
  }
  config.people.forEach(addCard);
  $("#add-person").onsubmit = async (event) => {
    event.preventDefault();
    const name = $("#new-name").value.trim();
    if (!name) return;
    addCard(await post("/api/people", { name, channel: $("#new-channel").value }));
    $("#new-name").value = "";
  };
  const events = new EventSource("/api/events");
  events.onmessage = (message) => onEvent(JSON.parse(message.data));
  requestAnimationFrame(drawDeadlines);
}

start();
