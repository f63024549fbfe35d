// Every call the front end makes to the server, in one place. Each returns a promise of the
// parsed JSON body (getters) or of the fetch Response (writes, whose status the caller reads).
let csrfToken = "";

export function setCsrf(token) {
  csrfToken = token || "";
}

function send(path, { method = "GET", body, headers = {} } = {}) {
  return fetch(path, {
    method,
    credentials: "same-origin",
    headers: {
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function json(path) {
  const response = await send(path);
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

const q = encodeURIComponent;

// The editor's world: node types, Opentrons definitions, validation and the dry run.
export const nodeTypes = () => json("/api/node-types");
export const definitions = (robotType) => json(`/api/opentrons/definitions?robot=${q(robotType)}`);
export const validate = (document) => send("/api/validate", { method: "POST", body: document });
export const startDryRun = (document) => send("/api/dry-run", { method: "POST", body: { document } });
export const dryRunResult = (key) => json(`/api/dry-run/${q(key)}`);

// Workflows and their versions.
export const createWorkflow = (document, message = "") =>
  send(`/api/workflows${message ? `?message=${q(message)}` : ""}`, { method: "POST", body: document });
export const saveWorkflow = (id, document, baseVersion, message) =>
  send(`/api/workflows/${id}`, { method: "PUT", body: { document, base_version: baseVersion, message } });
export const versions = (id) => json(`/api/workflows/${id}/versions`);
export const version = (id, n) => json(`/api/workflows/${id}/versions/${n}`);
export const restoreVersion = (id, n) => send(`/api/workflows/${id}/versions/${n}/restore`, { method: "POST" });

// Runs.
export const recentRuns = (workflowId, limit = 5) => json(`/api/runs?workflow=${workflowId}&limit=${limit}`);
export const run = (id) => json(`/api/runs/${id}`);
export const runLiquids = (id) => json(`/api/runs/${id}/liquids`);
export const resumeFrom = (id, nodeId, body) =>
  send(`/api/runs/${id}/resume-from/${q(nodeId)}`, { method: "POST", body });
export const post = (path) => send(path, { method: "POST" });

// Campaigns.
export const campaign = (id) => json(`/api/campaigns/${id}`);
export const labwareGeometry = (loadName) => json(`/api/opentrons/labware/${q(loadName)}`);
