// reelscore web page: upload a clip, poll its job, draw the result. No libraries, no network beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 600;
const POLL_LIMIT_MS = 30 * 60 * 1000;  // give up polling after 30 min; the job stays on the server
const SVG_NS = "http://www.w3.org/2000/svg";

let chosen = null;
const frameUrls = [];

function authHeaders() {
  const t = $("token").value.trim();
  return t ? { Authorization: "Bearer " + t } : {};
}

function setStatus(text, state, frac) {
  $("status-text").textContent = text;
  $("status").dataset.state = state;
  if (frac !== undefined) $("bar-fill").style.width = Math.round(Math.max(0, Math.min(1, frac)) * 100) + "%";
}

function choose(file) {
  chosen = file || null;
  $("drop").classList.toggle("has-file", !!chosen);
  $("drop-text").textContent = chosen ? `${chosen.name} (${(chosen.size / 1048576).toFixed(2)} MB)` : "Drop a clip here, or click to pick one";
  $("submit").disabled = !chosen;
  if (chosen) setStatus("Ready to score.", "idle", 0);
}

$("file").addEventListener("change", (e) => choose(e.target.files[0]));
const drop = $("drop");
["dragenter", "dragover"].forEach((ev) => drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((ev) => drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) choose(e.dataTransfer.files[0]); });
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); } });

function errorText(xhrStatus, body) {
  const msg = body && (body.error ? body.error.message : body.detail);
  return `HTTP ${xhrStatus}: ${typeof msg === "string" ? msg : JSON.stringify(msg || body)}`;
}

$("upload-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (!chosen) return;
  const fd = new FormData();
  fd.append("file", chosen, chosen.name);
  if ($("title").value.trim()) fd.append("title", $("title").value);
  if ($("description").value.trim()) fd.append("description", $("description").value);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/v1/score");
  for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
  xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) setStatus(`Uploading… ${Math.round(100 * ev.loaded / ev.total)} %`, "busy", 0.2 * ev.loaded / ev.total); };
  xhr.onerror = () => { setStatus("Upload failed: the server could not be reached.", "error"); $("submit").disabled = false; };
  xhr.onload = () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status !== 200 && xhr.status !== 202) {
      setStatus("Refused. " + errorText(xhr.status, body), "error", 0);
      $("submit").disabled = false;
      return;
    }
    $("result").hidden = true;
    setStatus(body.duplicate ? "Same clip and texts as before: showing the earlier job." : "Queued.", "busy", 0.2);
    poll(body.id, Date.now());
  };
  $("submit").disabled = true;
  setStatus("Uploading…", "busy", 0);
  xhr.send(fd);
});

async function poll(jobId, t0) {
  let job;
  try {
    const r = await fetch(`/v1/jobs/${jobId}`, { headers: authHeaders() });
    job = await r.json();
    if (!r.ok) { setStatus("Polling failed. " + errorText(r.status, job), "error"); $("submit").disabled = false; return; }
  } catch (err) {
    setStatus("Lost the server; retrying…", "busy");
    if (Date.now() - t0 < POLL_LIMIT_MS) setTimeout(() => poll(jobId, t0), 3 * POLL_MS);
    return;
  }
  if (job.status === "queued") {
    setStatus(`Queued (${job.queue_position} ahead)…`, "busy", 0.2);
  } else if (job.status === "running") {
    setStatus(`Scoring: ${job.stage || "running"}…`, "busy", 0.2 + 0.8 * job.progress);
  } else {
    $("submit").disabled = false;
    setStatus(job.status === "done" ? "Done." : `Failed: ${job.error ? job.error.message : "unknown reason"}`, job.status === "done" ? "done" : "error", 1);
    render(job);
    return;
  }
  if (Date.now() - t0 < POLL_LIMIT_MS) setTimeout(() => poll(jobId, t0), POLL_MS);
  else setStatus(`Still not finished after ${POLL_LIMIT_MS / 60000} min; job ${jobId} stays on the server.`, "error");
}

function fmt(v, digits) { return (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toFixed(digits); }

function provText(p) {
  if (!p) return "";
  const parts = [];
  if (p.model) parts.push(`model ${p.model}${p.kind ? " (" + p.kind + ")" : ""}`);
  const inputs = p.inputs || [];
  const feats = Object.entries(p.features || {});
  // Long sampler descriptions belong in the raw result; the card names the features and versions.
  if (inputs.length && inputs.every((s) => s.length < 40)) parts.push(`from ${inputs.join(", ")}`);
  else if (feats.length) parts.push(`from ${feats.map(([n, v]) => `${n} v${v}`).join(", ")}`);
  return parts.join(" · ");
}

function scoreCard(name, entry, digits, scale) {
  const div = document.createElement("div");
  div.className = "score";
  const ok = entry && entry.value !== null && entry.value !== undefined;
  div.dataset.key = name;
  div.innerHTML = `<div class="name"></div><div class="value"></div><div class="prov"></div>`;
  div.querySelector(".name").textContent = name + (scale ? ` (${scale})` : "");
  const v = div.querySelector(".value");
  if (ok) v.textContent = fmt(entry.value, digits);
  else { v.textContent = "not available"; v.classList.add("na"); }
  div.querySelector(".prov").textContent = ok ? provText(entry) + (entry.note ? " · " + entry.note : "") : (entry && entry.unavailable) || "";
  if (entry && entry.members) {
    // a fused model: each member's own value, or why it did not answer
    const ul = document.createElement("ul");
    ul.className = "members";
    for (const [m, mv] of Object.entries(entry.members)) {
      const li = document.createElement("li");
      li.dataset.member = m;
      li.textContent = (typeof mv === "number") ? `${m}: ${fmt(mv, digits)}` : `${m}: not used (${(mv && mv.unavailable) || "no inputs"})`;
      ul.appendChild(li);
    }
    div.appendChild(ul);
  }
  return div;
}

function el(tag, attrs, parent) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  if (parent) parent.appendChild(n);
  return n;
}

function drawTimeline(res) {
  const box = $("timeline");
  box.textContent = "";
  const tl = res.timeline || {};
  const t = tl.t || [];
  const q = tl.quality || {};
  const eng = tl.engagement_first5s || {};
  const dur = (res.info && res.info.duration_s) || (t.length ? t[t.length - 1] + 1 : 0);
  if (!t.length || !dur) { box.textContent = "No timeline."; return; }
  const W = 900, H = 240, L = 46, R = 46, T = 14, B = 34;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "per-second timeline", id: "timeline-svg" }, box);
  const x = (s) => L + (W - L - R) * (s / dur);
  const yq = (m) => T + (H - T - B) * (1 - (m - 1) / 4);
  const ye = (e) => T + (H - T - B) * (1 - e);
  for (let m = 1; m <= 5; m++) {
    el("line", { x1: L, x2: W - R, y1: yq(m), y2: yq(m), stroke: "#e5e7eb" }, svg);
    el("text", { x: L - 8, y: yq(m) + 4, "text-anchor": "end", "font-size": 11, fill: "#6b7280" }, svg).textContent = m;
  }
  const step = dur > 40 ? 10 : dur > 15 ? 5 : 1;
  for (let s = 0; s <= dur + 1e-6; s += step) {
    el("text", { x: x(s), y: H - B + 16, "text-anchor": "middle", "font-size": 11, fill: "#6b7280" }, svg).textContent = s + " s";
  }
  el("rect", { x: x(0), y: T, width: x(Math.min(5, dur)) - x(0), height: H - T - B, fill: "#fde68a", opacity: 0.25 }, svg);
  if (eng.values) {
    for (let i = 0; i < eng.values.length; i++) {
      const v = eng.values[i];
      if (v === null) continue;
      const s0 = (eng.t || t)[i];
      const w = Math.max(2, x(Math.min(s0 + 1, dur)) - x(s0) - 4);
      el("rect", { x: x(s0) + 2, y: ye(v), width: w, height: ye(0) - ye(v), fill: "#f59e0b", opacity: 0.75, class: "eng-bar" }, svg);
    }
    for (let e = 0; e <= 1; e += 0.5) {
      el("text", { x: W - R + 8, y: ye(e) + 4, "font-size": 11, fill: "#b45309" }, svg).textContent = e.toFixed(1);
    }
  }
  if (q.values) {
    const pts = [];
    q.values.forEach((v, i) => { if (v !== null) pts.push(`${x(Math.min(t[i] + 0.5, dur))},${yq(v)}`); });
    el("polyline", { points: pts.join(" "), fill: "none", stroke: "#2563eb", "stroke-width": 2.5, class: "quality-line" }, svg);
    pts.forEach((p) => { const [px, py] = p.split(","); el("circle", { cx: px, cy: py, r: 3, fill: "#2563eb" }, svg); });
  }
  const legend = document.createElement("div");
  legend.className = "legend";
  const qTxt = q.values ? `blue line: quality MOS per second (left axis, 1–5; ${provText(q)})` : `quality per second: ${q.unavailable || "not available"}`;
  const eTxt = eng.values ? `orange bars: engagement signal of the first 5 s (right axis, 0–1; ${provText(eng)})` : `engagement of the first 5 s: ${eng.unavailable || "not available"}`;
  legend.textContent = qTxt + " · " + eTxt;
  box.appendChild(legend);
}

function tagList(ul, entry) {
  ul.textContent = "";
  if (!entry || !entry.values) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = (entry && entry.unavailable) || "not available";
    ul.appendChild(li);
    return;
  }
  for (const tag of entry.values) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="lbl"></span><span class="meter"><div></div></span><span class="num"></span>`;
    li.querySelector(".lbl").textContent = tag.label;
    li.querySelector(".lbl").title = tag.label;
    li.querySelector(".meter div").style.width = Math.round(100 * Math.max(0, Math.min(1, tag.score))) + "%";
    li.querySelector(".num").textContent = fmt(tag.score, 2);
    ul.appendChild(li);
  }
}

async function loadFrames(urls) {
  const box = $("frames");
  box.textContent = "";
  while (frameUrls.length) URL.revokeObjectURL(frameUrls.pop());
  if (!urls || !urls.length) { box.textContent = "No frames."; return; }
  for (let k = 0; k < urls.length; k++) {
    const fig = document.createElement("figure");
    const img = document.createElement("img");
    img.alt = `frame ${k}`;
    fig.appendChild(img);
    box.appendChild(fig);
    try {
      // fetch, not <img src>, so that the bearer token travels with the request
      const r = await fetch(urls[k], { headers: authHeaders() });
      if (!r.ok) throw new Error("HTTP " + r.status);
      const u = URL.createObjectURL(await r.blob());
      frameUrls.push(u);
      img.src = u;
      img.className = "loaded";
    } catch (err) {
      fig.appendChild(document.createTextNode("frame unavailable"));
    }
  }
}

function render(job) {
  const res = job.result || {};
  const sec = $("result");
  sec.hidden = false;
  sec.dataset.status = job.status;
  const info = res.info || job.info || {};
  $("result-title").textContent = (job.title || "Result") + (info.duration_s ? ` · ${fmt(info.duration_s, 1)} s, ${info.width}×${info.height}` : "");
  const errBox = $("error-box");
  errBox.hidden = !job.error;
  errBox.textContent = job.error ? `${job.error.code}: ${job.error.message}` : "";
  const scores = $("scores");
  scores.textContent = "";
  const s = res.scores || {};
  if (job.status === "done") {
    scores.appendChild(scoreCard("ECR", s.ecr, 3, "share of views past 5 s"));
    scores.appendChild(scoreCard("NAWP", s.nawp, 3, "normalised watch percentage"));
    scores.appendChild(scoreCard("Quality MOS", s.mos, 2, "1–5"));
  }
  drawTimeline(res);
  tagList($("audio-tags"), res.audio_tags);
  tagList($("semantic"), res.semantic_classes);
  const un = $("unavailable");
  un.textContent = "";
  const entries = Object.entries(res.unavailable || {});
  if (!entries.length) { const li = document.createElement("li"); li.textContent = "nothing: every part ran."; un.appendChild(li); }
  for (const [k, v] of entries) { const li = document.createElement("li"); li.textContent = `${k}: ${v}`; un.appendChild(li); }
  $("raw").textContent = JSON.stringify(res, null, 2);
  loadFrames(job.frames);
}
