// The runs list: each row's state follows the run live.
import { LiveRun } from "./live.js";
import * as api from "./api.js";
import { whenElement } from "./when.js";

export function mountRunsList(tbody) {
  // This stream mixes runs, so its sequence numbers are not one run's: no de-duplication.
  const stream = new LiveRun("/ws/runs/", { onEvent: update, dedupe: false });

  const latest = {}; // run id → newest state seen, applied when its row arrives
  const fetching = new Set();

  function show(runId) {
    const row = tbody.querySelector(`[data-testid="run-row-${runId}"]`);
    if (!row) return false;
    const cell = row.querySelector("[data-testid=run-row-state]");
    cell.textContent = latest[runId];
    cell.dataset.state = latest[runId];
    cell.className = `state state-${latest[runId]}`;
    return true;
  }

  // A filtered list follows the rows it shows; new runs join only the unfiltered list.
  const filtered = tbody.closest("table").dataset.filtered === "1";

  function update(message) {
    if (message.type !== "run") return;
    latest[message.run] = message.state;
    if (show(message.run) || fetching.has(message.run) || filtered) return;
    fetching.add(message.run);
    api.run(message.run).catch(() => null)
      .then((run) => {
        fetching.delete(message.run);
        if (run) {
          insert(run);
          show(run.id);
        }
      });
  }

  function insert(run) {
    if (tbody.querySelector(`[data-testid="run-row-${run.id}"]`)) return;
    const empty = tbody.querySelector(".empty");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    row.dataset.testid = `run-row-${run.id}`;
    const cells = [`#${run.id}`, run.workflow_name, run.state, run.engine, run.robot || "—",
      run.started_by || run.trigger, run.created_at];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 0) {
        const a = document.createElement("a");
        a.href = `/runs/${run.id}/`;
        a.textContent = text;
        td.appendChild(a);
      } else if (i === 2) {
        const span = document.createElement("span");
        span.dataset.testid = "run-row-state";
        span.dataset.state = text;
        span.className = `state state-${text}`;
        span.textContent = text;
        td.appendChild(span);
      } else if (i === 6) {
        td.appendChild(whenElement(text));
      } else {
        td.textContent = text;
      }
      row.appendChild(td);
    });
    tbody.prepend(row);
  }
  return stream;
}
