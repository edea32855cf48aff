// The operations console: polls /api/state once a second and draws it. Every text from
// Redis goes in with textContent, never as HTML: messages are people's own words.
"use strict";

const REFRESH_MS = 1000;
let clockOffsetMs = 0; // Redis's clock minus this browser's, so countdowns agree with Redis
let windowMs = 10000; // the longest wait seen, for the scale of the deadline bars
let openLetter = null;
const letterText = new Map(); // batch id → its JSON, fetched once when first shown
const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem("batchctl-token") || ""; }
function authHeaders() { return token() ? { Authorization: "Bearer " + token() } : {}; }
function nowMs() { return Date.now() + clockOffsetMs; }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function ago(ms) {
  const s = (nowMs() - ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function conversationCell(row) {
  return el("td", {}, el("span", { class: "channel" }, row.channel), el("code", {}, row.conversation));
}

function deadlineBar(deadlineMs) {
  const bar = el("div", { class: "bar deadline-bar", "data-deadline": String(deadlineMs) }, el("i"), el("span"));
  return bar;
}

function drawBars() {
  for (const bar of document.querySelectorAll(".deadline-bar")) {
    const left = Number(bar.dataset.deadline) - nowMs();
    const share = Math.max(0, Math.min(1, left / windowMs));
    bar.firstChild.style.width = (share * 100).toFixed(1) + "%";
    const idle = document.body.dataset.workersUp === "0";
    bar.lastChild.textContent = left > 0 ? `in ${(left / 1000).toFixed(1)} s` : idle ? "due, no worker up" : "due";
  }
  requestAnimationFrame(drawBars);
}

const drawn = new Map(); // table id → what it shows, for tables with buttons

function fill(tableId, rows, makeRow, keepIfSame = false) {
  const body = $(tableId).tBodies[0];
  // A table with buttons is redrawn only when what it shows changed: a row replaced
  // between a button's press and release loses the click.
  const shown = JSON.stringify([rows, openLetter]);
  if (keepIfSame && drawn.get(tableId) === shown) return;
  drawn.set(tableId, shown);
  body.replaceChildren(...rows.flatMap(makeRow));
  $(tableId).hidden = rows.length === 0;
  $(tableId + "-empty").hidden = rows.length !== 0;
}

function pendingRow(row) {
  const deadline = row.deadline_ms ?? row.next_step_ms;
  windowMs = Math.max(windowMs, deadline - nowMs());
  return [el("tr", { class: "pending-row", "data-conversation": row.conversation },
    conversationCell(row),
    el("td", { class: "num" }, row.pending_messages,
      row.transcribing ? el("span", { class: "transcribing" }, ` (${row.transcribing} transcribing…)`) : ""),
    el("td", { class: "num" }, row.pending_bytes),
    el("td", {}, deadlineBar(deadline)))];
}

function inFlightRow(row) {
  const batch = row.batch;
  return [el("tr", { class: "in-flight-row", "data-conversation": row.conversation },
    conversationCell(row),
    el("td", {}, el("code", {}, batch.batch_id.slice(0, 8))),
    el("td", { class: "num" }, batch.messages),
    el("td", { class: "step" }, batch.step),
    el("td", {}, batch.claimed_at_ms ? ago(batch.claimed_at_ms) : "–"))];
}

function letterRow(letter) {
  const show = el("button", { type: "button", className: "show" }, "Show");
  const replay = el("button", { type: "button", className: "primary replay" }, "Replay");
  const purge = el("button", { type: "button", className: "danger purge" }, "Purge");
  show.onclick = () => { openLetter = openLetter === letter.batch_id ? null : letter.batch_id; refresh(); };
  replay.onclick = () => act(letter.batch_id, "replay");
  purge.onclick = () => {
    if (confirm(`Purge dead letter ${letter.batch_id}? Its messages are gone for good.`)) act(letter.batch_id, "purge");
  };
  const rows = [el("tr", { class: "dead-letter", "data-batch-id": letter.batch_id },
    el("td", {}, new Date(letter.failed_at_ms).toISOString().replace("T", " ").slice(0, 19) + " UTC"),
    conversationCell(letter),
    el("td", { class: "num" }, letter.messages),
    el("td", { class: "reason" }, letter.reason),
    el("td", {}, show, " ", replay, " ", purge))];
  if (openLetter === letter.batch_id) {
    const pre = el("pre", { class: "letter-json" }, letterText.get(letter.batch_id) || "loading…");
    rows.push(el("tr", { class: "detail" }, el("td", { colSpan: 5 }, pre)));
    if (!letterText.has(letter.batch_id)) {
      fetch(`/api/dead-letters/${encodeURIComponent(letter.batch_id)}`, { headers: authHeaders() })
        .then((r) => r.json()).then((body) => {
          letterText.set(letter.batch_id, JSON.stringify(body, null, 2));
          pre.textContent = letterText.get(letter.batch_id);
        });
    }
  }
  return rows;
}

function pausedRow(row) {
  const resume = el("button", { type: "button", className: "primary resume" }, "Resume");
  resume.onclick = () => post(`/api/handoffs/${encodeURIComponent(row.conversation)}/resume`, row.conversation, "resume");
  return [el("tr", { class: "paused-row", "data-conversation": row.conversation },
    conversationCell(row),
    el("td", {}, row.source),
    el("td", { class: "num" }, row.held),
    el("td", {}, new Date(row.until_ms).toISOString().replace("T", " ").slice(0, 19) + " UTC"),
    el("td", {}, resume))];
}

function workerRow(worker) {
  const seen = worker.state === "stopped" ? `stopped ${ago(worker.stopped_at_ms)}` : ago(worker.last_seen_ms);
  return [el("tr", { class: "worker-row", "data-state": worker.state },
    el("td", {}, el("code", {}, worker.worker)),
    el("td", { class: worker.state }, worker.state === "down" ? "down (died or lost Redis)" : worker.state),
    el("td", {}, seen),
    el("td", {}, el("code", {}, worker.health || "–")))];
}

function undeliveredRow(entry) {
  const message = entry.message || {};
  return [el("tr", { class: "undelivered-row" },
    el("td", {}, ago(entry.failed_at)),
    conversationCell({ channel: entry.conversation.startsWith("wa:") ? "whatsapp" : "telegram", conversation: entry.conversation }),
    el("td", {}, message.text || message.photo || ""),
    el("td", { class: "reason" }, entry.reason))];
}

function chart(svg, labels, values) {
  const max = Math.max(1, ...values);
  const width = 300, height = 60, gap = 2, barWidth = width / values.length - gap;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.replaceChildren();
  values.forEach((value, index) => {
    const h = (value / max) * (height - 4);
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    rect.setAttribute("x", index * (barWidth + gap));
    rect.setAttribute("y", height - h);
    rect.setAttribute("width", barWidth);
    rect.setAttribute("height", Math.max(h, value ? 1 : 0));
    rect.setAttribute("fill", svg.id === "rate-errors" ? "#d64545" : "#2f6fde");
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${labels[index]} UTC: ${value}`;
    rect.append(title);
    svg.append(rect);
  });
  svg.dataset.total = String(values.reduce((a, b) => a + b, 0));
}

function draw(state) {
  $("total-pending").textContent = state.totals.pending_conversations;
  $("total-running").textContent = state.totals.batches_running;
  $("total-dead").textContent = state.totals.dead_letters;
  const workers = state.workers || [];  // a tenant's view leaves out the deployment's own
  $("total-workers").textContent = state.tenant ? "–" : workers.filter((w) => w.up).length;
  $("tenant").textContent = state.tenant ? "tenant " + state.tenant : "";
  for (const id of ["rates", "workers-section", "workers-total"]) $(id).hidden = Boolean(state.tenant);
  const r = state.rates;
  if (r) {
    chart($("rate-in"), r.minutes, r.messages_in);
    chart($("rate-answered"), r.minutes, r.answered);
    chart($("rate-errors"), r.minutes, r.retries.map((v, i) => v + r.dead_letters[i] + r.refused[i]));
  }
  fill("pending", state.pending, pendingRow);
  fill("in-flight", state.in_flight, inFlightRow);
  fill("dead-letters", state.dead_letters, letterRow, true);
  fill("paused", state.paused, pausedRow, true);
  fill("workers", workers, workerRow);
  fill("undelivered", state.undelivered.newest, undeliveredRow);
  $("undelivered-total").textContent = state.undelivered.total;
  const up = workers.filter((w) => w.up).length;
  const warning = $("no-worker");
  warning.hidden = Boolean(state.tenant) || up > 0 || state.totals.pending_conversations === 0;
  warning.textContent = "No worker is up: nothing will take these batches until one starts (python -m worker).";
  document.body.dataset.workersUp = String(up);
  const notice = $("notice");
  notice.hidden = state.can_act;
  notice.textContent = "Read-only: start the console with BATCHCTL_CONSOLE_TOKEN set to replay or purge dead letters and resume conversations.";
}

async function refresh() {
  try {
    const response = await fetch("/api/state", { headers: authHeaders() });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    clockOffsetMs = body.now_ms - Date.now();
    draw(body);
    $("status").textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    $("status").className = "status";
  } catch (error) {
    $("status").textContent = `not updating: ${error.message}`;
    $("status").className = "status bad";
  }
}

function act(batchId, action) {
  return post(`/api/dead-letters/${encodeURIComponent(batchId)}/${action}`, batchId, action);
}

async function post(path, what, action) {
  const result = $("action-result");
  const response = await fetch(path, { method: "POST", headers: authHeaders() });
  const body = await response.json();
  result.className = "action-result " + (response.ok ? "ok" : "bad");
  result.textContent = response.ok ? `${what}: ${body.result}` : `${action} refused: ${body.error}`;
  if (response.status === 401) $("token").focus();
  refresh();
}

$("token-form").onsubmit = async (event) => {
  event.preventDefault();
  const candidate = $("token").value.trim();
  const result = $("action-result");
  const response = await fetch("/api/token", { headers: { Authorization: "Bearer " + candidate } });
  const body = await response.json();
  if (response.ok) {
    sessionStorage.setItem("batchctl-token", candidate);
    $("token").value = "";
    result.className = "action-result ok";
    result.textContent = body.tenant
      ? `Token accepted for this tab: tenant ${body.tenant}'s conversations only; replay, purge and resume allowed on those.`
      : `Token accepted for this tab: replay, purge and resume allowed.`;
  } else {
    result.className = "action-result bad";
    result.textContent = `Token not kept: ${body.error}`;
  }
  refresh();
};

refresh();
setInterval(refresh, REFRESH_MS);
requestAnimationFrame(drawBars);
