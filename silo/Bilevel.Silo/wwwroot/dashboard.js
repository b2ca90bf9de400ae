// The grid dashboard: sweeps with their trial counts, a sweep's trials, a trial's loss curve on a canvas.
// Plain browser JavaScript, no build step and nothing loaded from elsewhere. The token typed in the header is kept in
// sessionStorage (gone when the tab closes) and sent as "Authorization: Bearer <token>" with every API call.
"use strict";

const tokenKey = "bilevel.apiToken";
const tokenInput = document.getElementById("token");
const statusLine = document.getElementById("status");
// The selection lives in the address (#sweep=3&trial=17), so a view can be bookmarked or shared.
const fromHash = new URLSearchParams(location.hash.slice(1));
let selectedSweep = Number(fromHash.get("sweep")) || null;
let selectedTrial = Number(fromHash.get("trial")) || null;

function select(sweep, trial) {
  selectedSweep = sweep;
  selectedTrial = trial;
  const parts = [];
  if (sweep !== null) parts.push("sweep=" + sweep);
  if (trial !== null) parts.push("trial=" + trial);
  history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
  refresh();
}

tokenInput.value = sessionStorage.getItem(tokenKey) || "";
tokenInput.addEventListener("change", () => {
  sessionStorage.setItem(tokenKey, tokenInput.value.trim());
  refresh();
});
document.getElementById("refresh").addEventListener("click", refresh);

async function api(path) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(tokenKey);
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { headers });
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try {
      const problem = await response.json();
      const errors = problem.errors ? Object.entries(problem.errors).map(([field, m]) => field + ": " + m.join("; ")) : [];
      message = response.status + " " + (problem.title || "") + " " + (errors.join(" | ") || problem.detail || "");
    } catch { /* not problem details */ }
    throw new Error(message);
  }
  return response.json();
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
}

async function refresh() {
  statusLine.textContent = "";
  try {
    await loadSweeps();
    if (selectedSweep !== null) await loadTrials(selectedSweep);
    if (selectedTrial !== null) await loadCurve(selectedTrial);
  } catch (e) {
    statusLine.textContent = e.message;
  }
}

async function loadSweeps() {
  const page = await api("/api/sweeps?pageSize=100");
  const body = document.getElementById("sweeps");
  body.replaceChildren();
  for (const s of page.items) {
    const row = document.createElement("tr");
    if (s.id === selectedSweep) row.className = "selected";
    cell(row, s.id);
    cell(row, s.name);
    cell(row, s.state, "state-" + s.state);
    for (const n of [s.trials.queued, s.trials.running, s.trials.completed, s.trials.failed, s.trials.cancelled]) cell(row, n);
    row.addEventListener("click", () => select(s.id, null));
    body.appendChild(row);
  }
}

async function loadTrials(sweepId) {
  const page = await api("/api/sweeps/" + sweepId + "/trials?pageSize=200&sort=number");
  document.getElementById("trials-title").textContent = "Trials of sweep " + sweepId + " (" + page.total + ")";
  const body = document.getElementById("trials");
  body.replaceChildren();
  for (const t of page.items) {
    const row = document.createElement("tr");
    if (t.id === selectedTrial) row.className = "selected";
    cell(row, t.id);
    cell(row, t.number);
    cell(row, t.state, "state-" + t.state);
    cell(row, t.phase);
    cell(row, t.outerStep);
    cell(row, t.attempt);
    cell(row, JSON.stringify(t.params));
    cell(row, t.error);
    row.addEventListener("click", () => select(selectedSweep, t.id));
    body.appendChild(row);
  }
}

async function loadCurve(trialId) {
  const curves = await api("/api/trials/" + trialId + "/curves?name=loss,outer_loss,outerLoss&limit=100000");
  const curve = curves[0];
  document.getElementById("curve-title").textContent = curve
    ? "Trial " + trialId + ": " + curve.name + " (" + curve.steps.length + " points, last " + curve.values[curve.values.length - 1].toPrecision(5) + ")"
    : "Trial " + trialId + ": no loss recorded yet";
  draw(curve);
}

function draw(curve) {
  const canvas = document.getElementById("curve");
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = { left: 64, right: 12, top: 12, bottom: 28 };
  ctx.clearRect(0, 0, w, h);
  if (!curve || curve.steps.length === 0) return;
  const xs = curve.steps, ys = curve.values;
  const xMin = Math.min(...xs), xMax = Math.max(...xs, xMin + 1);
  let yMin = Math.min(...ys), yMax = Math.max(...ys);
  if (yMax === yMin) { yMax += 1; yMin -= 1; }
  const px = x => pad.left + (x - xMin) / (xMax - xMin) * (w - pad.left - pad.right);
  const py = y => h - pad.bottom - (y - yMin) / (yMax - yMin) * (h - pad.top - pad.bottom);

  ctx.strokeStyle = "#c9ceda";
  ctx.fillStyle = "#6b7385";
  ctx.font = "11px system-ui, sans-serif";
  ctx.beginPath();
  ctx.moveTo(pad.left, pad.top);
  ctx.lineTo(pad.left, h - pad.bottom);
  ctx.lineTo(w - pad.right, h - pad.bottom);
  ctx.stroke();
  for (let i = 0; i <= 4; i++) {
    const y = yMin + (yMax - yMin) * i / 4;
    ctx.fillText(y.toPrecision(4), 4, py(y) + 4);
    const x = xMin + (xMax - xMin) * i / 4;
    ctx.fillText(String(Math.round(x)), px(x) - 8, h - 8);
  }
  ctx.strokeStyle = "#0b6bcb";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  xs.forEach((x, i) => (i === 0 ? ctx.moveTo(px(x), py(ys[i])) : ctx.lineTo(px(x), py(ys[i]))));
  ctx.stroke();
}

refresh();
setInterval(refresh, 5000);
