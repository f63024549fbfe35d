// The live run page: the workflow drawn read-only, coloured by each node's state.
import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { Background, Controls, ReactFlow, ReactFlowProvider, useNodesState } from "@xyflow/react";
import { nodeTypes, toFlow } from "./graph.jsx";
import { LiveRun } from "./live.js";
import { nodeEnded, runEnded } from "./vocabulary.js";
import { PlateMap } from "./panels.jsx";
import { fillsOf } from "./LiquidsPanel.jsx";
import * as api from "./api.js";
import { formatTime } from "./when.js";


function initial(config) {
  const nodes = {};
  (config.document.nodes || []).forEach((n) => {
    nodes[n.id] = { state: "pending", attempts: 0, error: "", output: null };
  });
  return { state: "queued", error: "", startedAt: null, finishedAt: null, nodes, log: [], inputRequest: null, waiting: null };
}

function reduce(run, event) {
  if (event.type === "run") {
    const next = { ...run, state: event.state, error: event.error || (event.state === "running" ? "" : run.error),
      inputRequest: event.state === "paused" ? (event.input_request || null) : null,
      waiting: event.state === "paused" ? run.waiting : null };
    if (event.state === "running" && !run.startedAt) next.startedAt = event.at;
    if (runEnded(event.state)) next.finishedAt = event.at;
    return next;
  }
  if (event.type === "node") {
    const before = run.nodes[event.node_id] || {};
    const node = { ...before, state: event.state };
    if (event.attempts !== undefined) node.attempts = event.attempts;
    if (event.error !== undefined) node.error = event.error;
    if (event.output !== undefined) node.output = event.output;
    if (event.state === "running") node.startedAt = event.at;
    // The story of each step in the log: when it started, and how it ended.
    const said = {
      running: ["info", "started"],
      completed: ["info", `completed${before.startedAt ? ` in ${seconds(before.startedAt, event.at).toFixed(1)} s` : ""}`],
      failed: ["error", `failed: ${event.error || ""}`],
      retrying: ["warning", `retrying: ${event.error || ""}`],
      cancelled: ["warning", `cancelled${event.error && event.error !== "cancelled" ? `: ${event.error}` : ""}`],
    }[event.state];
    const log = said && before.state !== event.state
      ? [...run.log, { seq: `${event.seq}`, at: event.at, node: event.node_id, level: said[0], message: said[1] }].slice(-2000)
      : run.log;
    return { ...run, log, nodes: { ...run.nodes, [event.node_id]: node } };
  }
  if (event.type === "log") {
    const line = { seq: event.seq, at: event.at, node: event.node_id || "", level: event.level, message: event.message };
    const waiting = event.node_id && event.message.startsWith("paused: ")
      ? { node: event.node_id, message: event.message.slice(8) } : run.waiting;
    return { ...run, waiting, log: [...run.log, line].slice(-2000) };
  }
  return run;
}

function seconds(from, to) {
  if (!from) return 0;
  return Math.max(0, ((to ? new Date(to) : new Date()) - new Date(from)) / 1000);
}

// A new run from this node: the completed steps before it are kept (and replayed on the
// robot's simulator), with the parameters corrected here. A real robot asks for the deck.
function ResumeForm({ config, nodeId }) {
  const specs = config.document.parameters || {};
  const [values, setValues] = useState(() => ({ ...config.run.parameters }));
  const [confirmed, setConfirmed] = useState(false);
  const [freshTip, setFreshTip] = useState(true);
  const [problem, setProblem] = useState("");
  const submit = (event) => {
    event.preventDefault();
    const body = { parameters: values, deck_confirmed: confirmed, fresh_tip: freshTip };
    api.resumeFrom(config.run.id, nodeId, body).then(async (r) => {
      const answer = await r.json();
      if (r.ok) window.location.assign(`/runs/${answer.id}/`);
      else setProblem(answer.detail || `refused (${r.status})`);
    }, () => setProblem("the server could not be reached"));
  };
  return (
    <form className="resume-form" data-testid="resume-form" onSubmit={submit}>
      <h4>Resume from here</h4>
      {Object.entries(specs).map(([name, spec]) => (
        <label key={name}>{spec.title || name}
          <input name={name} data-testid={`resume-param-${name}`}
                 type={spec.type === "number" || spec.type === "integer" ? "number" : "text"}
                 step="any" min={spec.minimum} max={spec.maximum} value={values[name] ?? ""}
                 onChange={(e) => setValues({ ...values, [name]: spec.type === "number" || spec.type === "integer" ? Number(e.target.value) : e.target.value })} />
        </label>
      ))}
      {config.robotReal && (<>
        <label><input type="checkbox" data-testid="resume-deck-confirmed" checked={confirmed}
                      onChange={(e) => setConfirmed(e.target.checked)} />
          I have checked the deck: labware, liquids and tips are as the completed steps left them
          (a stopped robot has dropped its tips)</label>
        <label><input type="checkbox" checked={freshTip} onChange={(e) => setFreshTip(e.target.checked)} />
          Pick up a fresh tip where the earlier run held one</label>
      </>)}
      {problem && <p className="bad" data-testid="resume-problem">{problem}</p>}
      <button type="submit" data-testid="resume-submit">Resume from {nodeId}</button>
    </form>
  );
}

// control.input: the form a paused run waits for; the answers continue it.
function InputForm({ request, send }) {
  const [values, setValues] = useState({});
  return (
    <form className="input-form" data-testid="run-input-form"
          onSubmit={(e) => { e.preventDefault(); send({ action: "continue", answers: values }); }}>
      <strong>{request.message}</strong>
      {request.fields.map((f) => (
        <label key={f.name}>{f.label || f.name}
          {f.type === "choice" ? (
            <select data-testid={`run-input-${f.name}`} value={values[f.name] ?? ""}
                    onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}>
              <option value="">…</option>{f.choices.map((c) => <option key={c} value={c}>{c}</option>)}
            </select>
          ) : (
            <input data-testid={`run-input-${f.name}`} type={f.type === "text" ? "text" : "number"} step="any"
                   min={f.minimum ?? undefined} max={f.maximum ?? undefined} value={values[f.name] ?? ""}
                   onChange={(e) => setValues({ ...values, [f.name]: e.target.value })} />
          )}
          {f.unit && <span className="unit">{f.unit}</span>}
        </label>))}
      <button type="submit" className="primary" data-testid="run-input-submit">Continue</button>
    </form>
  );
}

// Each labware's wells, filling as the run goes (followed from the executed commands).
function RunWells({ runId, done }) {
  const [state, setState] = useState(null);
  useEffect(() => {
    let gone = false;
    api.runLiquids(runId).then((answer) => !gone && setState(answer), () => {});
    return () => { gone = true; };
  }, [runId, done]);
  if (!state || !state.liquids.length) return <div className="run-wells" />;
  return (
    <div className="run-wells" data-testid="run-wells">
      {state.labware.map((lw) => (
        <figure key={lw.id} data-testid={`run-wells-${lw.id}`}>
          <figcaption>{lw.id}</figcaption>
          <PlateMap labware={lw.definition} chosen={[]} onChange={() => {}} testid={`run-${lw.id}`}
                    fill={fillsOf(state.wells[lw.id], state.liquids, lw.definition.well_volume)} />
        </figure>))}
    </div>
  );
}

function NodeDetail({ runId, nodeId, live, onClose, resume }) {
  const [detail, setDetail] = useState(null);
  useEffect(() => {
    let gone = false;
    api.run(runId).then((run) => !gone && setDetail(run.nodes.find((n) => n.node_id === nodeId)), () => {});
    return () => { gone = true; };
  }, [runId, nodeId, live.state, live.attempts]);
  const node = detail || {};
  return (
    <aside className="node-detail" data-testid="run-node-detail">
      <header>
        <strong>{nodeId}</strong> <span className={`badge state-${live.state}`}>{live.state}</span>
        <button type="button" aria-label="Close details" onClick={onClose}>×</button>
      </header>
      {live.error && <p className="bad" data-testid="run-node-error">{live.error}</p>}
      <p>Attempts: {live.attempts || 0}
        {node.prefect_url && <> · <a href={node.prefect_url} target="_blank" rel="noreferrer">Prefect task run</a></>}</p>
      <h4>Output</h4>
      <pre data-testid="run-node-output">{JSON.stringify(live.output ?? node.output ?? null, null, 2)}</pre>
      {node.log && node.log.length > 0 && (<><h4>Log</h4>
        <pre>{node.log.map((l) => `[${l.level}] ${l.message}`).join("\n")}</pre></>)}
      {node.commands && node.commands.length > 0 && (<><h4>Robot commands ({node.commands.length})</h4>
        <ol className="commands" data-testid="run-node-commands">{node.commands.map((c, i) => (
          <li key={i} className={c.status === "failed" ? "bad" : ""}>
            {c.commandType} {c.params.labwareId || ""} {c.params.wellName || ""}
            {c.params.volume !== undefined && c.params.volume !== null ? ` ${c.params.volume} µL` : ""}
            {c.error ? ` — ${c.error}` : ""}
          </li>))}</ol></>)}
      {resume}
    </aside>
  );
}

function RunView({ config }) {
  const runId = config.run.id;
  const [run, dispatch] = useReducer(reduce, config, initial);
  const [connection, setConnection] = useState("connecting");
  const [notice, setNotice] = useState("");
  const [selected, setSelected] = useState(null);
  const [, tick] = useState(0);
  const live = useRef(null);

  useEffect(() => {
    live.current = new LiveRun(config.wsPath, {
      onEvent: dispatch,
      onStatus: setConnection,
      onMessage: (m) => setNotice(m.type === "error" ? m.message : ""),
    });
    return () => live.current.close();
  }, [config.wsPath]);

  const ended = runEnded(run.state);
  useEffect(() => {
    if (ended) return undefined;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [ended]);

  const flow = useMemo(() => toFlow(config.document, () => ({}), (id) => `run-node-${id}`), [config.document]);
  // Nodes live in React Flow's state so that their measured sizes survive each update.
  const [nodes, setNodes, onNodesChange] = useNodesState(flow.nodes);
  useEffect(() => {
    setNodes((current) => current.map((n) => {
      const s = run.nodes[n.id] || {};
      const state = run.waiting && run.waiting.node === n.id && run.state === "paused" ? "waiting" : s.state;
      return { ...n, data: { ...n.data, state, attempts: s.attempts, error: s.error } };
    }));
  }, [run.nodes, run.waiting, run.state, setNodes]);
  const edges = useMemo(() => flow.edges.map((e) => ({
    ...e, animated: run.nodes[e.source]?.state === "completed" && run.nodes[e.target]?.state === "running",
  })), [flow, run.nodes]);

  const total = Object.keys(run.nodes).length;
  const done = Object.values(run.nodes).filter((n) => nodeEnded(n.state)).length;
  const active = ["queued", "running", "paused"].includes(run.state);
  const usesRobot = (config.document.nodes || []).some((n) => n.type.startsWith("opentrons."));

  return (
    <div className="run-layout">
      <div className="run-bar">
        <span className={`badge state-${run.state}`} data-testid="run-state" data-state={run.state}>{run.state}</span>
        <span data-testid="run-progress">{done} of {total} nodes done</span>
        <span data-testid="run-elapsed">{seconds(run.startedAt, run.finishedAt).toFixed(1)} s</span>
        <span className={`connection ${connection}`} data-testid="run-connection">
          {connection === "reconnecting" ? "reconnecting…" : connection}
        </span>
        {run.state === "running" && done === 0 && !Object.values(run.nodes).some((n) => n.state === "running") && (
          <span data-testid="run-opening">{usesRobot ? "opening robot session…" : "starting…"}</span>)}
        {run.state === "paused" && run.waiting && !run.inputRequest && (
          <span className="waiting" data-testid="run-waiting">waiting for you: {run.waiting.message}</span>)}
        {config.mayControl && (<>
          <button type="button" data-testid="run-continue" className={run.state === "paused" ? "primary" : ""}
                  disabled={run.state !== "paused" || Boolean(run.inputRequest)}
                  onClick={() => live.current.send({ action: "continue" })}>Continue</button>
          <button type="button" data-testid="run-cancel" className="danger" disabled={!active}
                  onClick={() => window.confirm("Cancel this run? Running steps stop; a robot is stopped.")
                    && live.current.send({ action: "cancel" })}>Cancel</button>
        </>)}
        {run.error && <span className="bad run-error" data-testid="run-error">{run.error}</span>}
        {config.mayControl && run.state === "paused" && run.inputRequest
          && <InputForm request={run.inputRequest} send={(m) => live.current.send(m)} />}
        {notice && <span className="bad">{notice}</span>}
      </div>
      <div className="run-main">
        <div className="run-graph" data-testid="run-graph">
          <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} fitView fitViewOptions={{ padding: 0.15 }} onNodesChange={onNodesChange}
                     nodesDraggable={false} nodesConnectable={false} elementsSelectable
                     onNodeClick={(_, n) => setSelected(n.id)} proOptions={{ hideAttribution: true }}>
            <Background /><Controls showInteractive={false} />
          </ReactFlow>
        </div>
        {selected && <NodeDetail runId={runId} nodeId={selected} live={run.nodes[selected] || {}}
                                 onClose={() => setSelected(null)}
                                 resume={config.mayControl && ended
                                   && ["failed", "cancelled"].includes(run.nodes[selected]?.state)
                                   && <ResumeForm key={selected} config={config} nodeId={selected} />} />}
      </div>
      <RunWells runId={runId} done={done} />
      <div className="run-log" data-testid="run-log" aria-live="polite">
        {run.log.map((l) => (
          <div key={l.seq} className={`log-${l.level}`}>
            <time dateTime={l.at}>{formatTime(l.at)}</time> <b>{l.node || "run"}</b> {l.message}
          </div>
        ))}
      </div>
    </div>
  );
}

export function RunViewRoot({ config }) {
  return <ReactFlowProvider><RunView config={config} /></ReactFlowProvider>;
}
