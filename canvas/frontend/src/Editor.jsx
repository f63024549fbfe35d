// The workflow editor: palette, canvas, node form, validation as you edit, save with conflicts.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useEdgesState, useNodesState, useReactFlow,
} from "@xyflow/react";
import { layout, nodeTypes } from "./graph.jsx";
import { runEnded } from "./vocabulary.js";
import { DeckPanel } from "./DeckPanel.jsx";
import { EdgeForm, NodeForm } from "./forms.jsx";
import { HelpOverlay, HistoryPanel, WorkflowPanel } from "./panels.jsx";
import { LiveRun } from "./live.js";
import { DRY_RUN_BLOCKS, dryRunLabel, useDryRun } from "./dryrun.js";
import { LiquidsPanel } from "./LiquidsPanel.jsx";

const HISTORY = 200;

function api(path, csrf, options = {}) {
  return fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, ...(options.headers || {}) },
  });
}

// Why an edge may not be drawn, or null when it may.
export function edgeProblem(doc, source, target) {
  if (source === target) return `${source} cannot connect to itself`;
  if (doc.edges.some((e) => e.source === source && e.target === target)) {
    return `${source} → ${target} is already there`;
  }
  const children = {};
  doc.edges.forEach((e) => { (children[e.source] = children[e.source] || []).push(e.target); });
  const stack = [target];
  const seen = new Set();
  while (stack.length) {
    const id = stack.pop();
    if (id === source) return `${source} → ${target} would make a cycle (${target} already leads to ${source})`;
    if (!seen.has(id)) {
      seen.add(id);
      (children[id] || []).forEach((c) => stack.push(c));
    }
  }
  return null;
}

function newId(doc, type) {
  const base = type.split(".").pop().replace(/[^A-Za-z0-9_-]/g, "_");
  let i = 1;
  while (doc.nodes.some((n) => n.id === `${base}${i}`)) i += 1;
  return `${base}${i}`;
}

// Nodes (with the edges between them) as copied to the clipboard, and pasted back with new ids.
function clip(doc, ids) {
  const chosen = new Set(ids);
  return {
    sdl: "nodes",
    nodes: doc.nodes.filter((n) => chosen.has(n.id)),
    edges: doc.edges.filter((e) => chosen.has(e.source) && chosen.has(e.target)),
  };
}

function pasteInto(doc, data) {
  const renamed = {};
  data.nodes.forEach((n) => { renamed[n.id] = newId({ nodes: [...doc.nodes, ...Object.values(renamed).map((id) => ({ id }))] }, n.type); });
  // References between the pasted nodes follow them to their new ids.
  const follow = (value) => JSON.parse(JSON.stringify(value).replace(
    /nodes\.([A-Za-z0-9_-]+)\.output/g, (all, id) => (renamed[id] ? `nodes.${renamed[id]}.output` : all)));
  data.nodes.forEach((n) => {
    const position = n.position || { x: 0, y: 0 };
    doc.nodes.push({ ...follow(n), id: renamed[n.id], position: { x: position.x + 40, y: position.y + 40 } });
  });
  data.edges.forEach((e) => doc.edges.push({ ...follow(e), source: renamed[e.source], target: renamed[e.target] }));
  return Object.values(renamed);
}

function Palette({ groups, onAdd }) {
  const [query, setQuery] = useState("");
  const q = query.trim().toLowerCase();
  return (
    <aside className="palette" aria-label="Node types">
      <input type="search" placeholder="Search steps…" value={query} aria-label="Search steps"
             data-testid="palette-search" onChange={(e) => setQuery(e.target.value)} />
      {groups.map((group) => {
        const types = group.types.filter((t) => !q || t.title.toLowerCase().includes(q) || t.type.includes(q));
        if (!types.length) return null;
        return (
          <section key={group.category}>
            <h4>{group.title}</h4>
            {types.map((t) => (
              <button type="button" key={t.type} className={`palette-item cat-${group.category.replace(".", "-")}`}
                      data-testid={`palette-item-${t.type}`} draggable title={t.description}
                      onDragStart={(e) => e.dataTransfer.setData("application/x-sdl-node", t.type)}
                      onClick={() => onAdd(t.type)}>
                {t.title}
              </button>
            ))}
          </section>
        );
      })}
    </aside>
  );
}

function Editor({ config, csrf }) {
  const flow = useReactFlow();
  const wrapper = useRef(null);
  const [doc, setDoc] = useState(config.document);
  const [version, setVersion] = useState(config.version);
  const [saved, setSaved] = useState(JSON.stringify(config.document));
  const history = useRef({ past: [], future: [] });
  const justAdded = useRef(null); // a node added from the palette (or renamed) comes selected
  const [, setHistoryTick] = useState(0);
  const [groups, setGroups] = useState([]);
  const [report, setReport] = useState({ valid: true, errors: [] });
  const [selected, setSelected] = useState({ node: null, edge: null });
  const [notice, setNotice] = useState("");
  const [conflict, setConflict] = useState(null);
  const [message, setMessage] = useState("");
  const [saving, setSaving] = useState(false);
  const [tab, setTab] = useState("deck");
  const [help, setHelp] = useState(false);
  const [deckDefs, setDeckDefs] = useState(null);
  const [liveRun, setLiveRun] = useState(null); // {id, nodes: {id: {state, attempts, error}}}
  const importer = useRef(null);

  const typeIndex = useMemo(
    () => Object.fromEntries(groups.flatMap((g) => g.types).map((t) => [t.type, t])), [groups]);

  useEffect(() => {
    fetch("/api/node-types", { credentials: "same-origin" }).then((r) => r.json()).then(setGroups);
  }, []);

  // Opentrons' definitions for the deck panel and plate maps (one fetch per robot type).
  const robotType = doc.robot ? doc.robot.type : "";
  useEffect(() => {
    if (!robotType) { setDeckDefs(null); return; }
    fetch(`/api/opentrons/definitions?robot=${encodeURIComponent(robotType)}`, { credentials: "same-origin" })
      .then((r) => r.json()).then(setDeckDefs);
  }, [robotType]);

  // Every change goes through here: one step of undo history.
  const change = useCallback((edit, options = {}) => {
    if (options.select) {
      justAdded.current = options.select;
      setSelected({ node: options.select, edge: null });
    }
    setDoc((current) => {
      const next = edit(structuredClone(current));
      if (!next) return current;
      const { past } = history.current;
      past.push(current);
      if (past.length > HISTORY) past.shift();
      history.current.future = [];
      setHistoryTick((n) => n + 1);
      return next;
    });
  }, []);
  const undo = useCallback(() => setDoc((current) => {
    const previous = history.current.past.pop();
    if (!previous) return current;
    history.current.future.push(current);
    setHistoryTick((n) => n + 1);
    return previous;
  }), []);
  const redo = useCallback(() => setDoc((current) => {
    const next = history.current.future.pop();
    if (!next) return current;
    history.current.past.push(current);
    setHistoryTick((n) => n + 1);
    return next;
  }), []);

  // Validation as you edit (debounced), by the server's own rules.
  useEffect(() => {
    const timer = setTimeout(() => {
      api("/api/validate", csrf, { method: "POST", body: JSON.stringify(doc) })
        .then((r) => (r.ok ? r.json() : { valid: false, errors: [{ path: "", message: `validation failed (${r.status})` }] }))
        .then(setReport)
        .catch(() => {});
    }, 350);
    return () => clearTimeout(timer);
  }, [doc, csrf]);

  const dry = useDryRun(doc, report.valid, csrf);
  const problems = useMemo(() => [...report.errors, ...(dry.problems || [])], [report, dry]);
  const runnable = report.valid && !DRY_RUN_BLOCKS.includes(dry.status);

  const problemsByNode = useMemo(() => {
    const byNode = {};
    problems.forEach((e) => {
      const match = /^nodes\[([^\]]+)\]/.exec(e.path);
      if (match) (byNode[match[1]] = byNode[match[1]] || []).push(e.message);
    });
    return byNode;
  }, [problems]);

  const [nodes, setNodes, onNodesChange] = useNodesState([]);
  useEffect(() => {
    setNodes((current) => {
      const before = Object.fromEntries(current.map((n) => [n.id, n]));
      const added = justAdded.current;
      justAdded.current = null;
      return doc.nodes.map((n) => ({
        ...(before[n.id] || {}),
        ...(added ? { selected: n.id === added } : {}),
        id: n.id,
        type: "step",
        position: n.position || { x: 0, y: 0 },
        data: { node: n, testid: `node-${n.id}`, problems: problemsByNode[n.id],
          ...(liveRun && liveRun.nodes[n.id] ? liveRun.nodes[n.id] : {}) },
      }));
    });
  }, [doc, problemsByNode, setNodes, liveRun]);

  // While a run of this workflow is going, its node states show on the canvas too.
  const following = useRef(null); // {id, close}
  useEffect(() => {
    let gone = false;
    const look = () => fetch(`/api/runs?workflow=${config.workflowId}&limit=5`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : []))
      .then((list) => {
        const active = list.find((r) => ["queued", "running", "paused"].includes(r.state));
        if (gone || !active || (following.current && following.current.id === active.id)) return;
        if (following.current) following.current.close();
        const states = {};
        setLiveRun({ id: active.id, state: active.state, nodes: {} });
        const socket = new LiveRun(`/ws/runs/${active.id}/`, {
          onEvent: (m) => {
            if (m.type === "node") {
              states[m.node_id] = { state: m.state, attempts: m.attempts ?? states[m.node_id]?.attempts, error: m.error || "" };
              setLiveRun((r) => r && { ...r, nodes: { ...states } });
            } else if (m.type === "run") {
              setLiveRun((r) => r && { ...r, state: m.state });
            }
          },
        });
        following.current = { id: active.id, close: () => socket.close() };
      }).catch(() => {});
    look();
    const timer = setInterval(look, 5000);
    return () => {
      gone = true;
      clearInterval(timer);
      if (following.current) following.current.close();
      following.current = null;
    };
  }, [config.workflowId]);
  // Edges live in React Flow's state, as nodes do (the React Flow 12 way): a click selects one
  // (onEdgesChange), Delete removes it (onEdgesDelete edits the document); the document's edges
  // are synced in, keeping what is selected.
  const [edges, setEdges, onEdgesChange] = useEdgesState([]);
  useEffect(() => {
    setEdges((current) => {
      const chosen = new Set(current.filter((e) => e.selected).map((e) => e.id));
      return doc.edges.map((e, i) => {
        const id = `${e.source}->${e.target}`;
        return {
          id, source: e.source, target: e.target, label: e.when || undefined, selected: chosen.has(id),
          className: report.errors.some((p) => p.path.startsWith(`edges[${i}]`)) ? "edge-problem" : "",
        };
      });
    });
  }, [doc.edges, report, setEdges]);

  // A step dropped on the canvas goes where it is dropped; one added by click goes after the
  // selected step (and is connected to it), or mid-view, and never on top of another.
  const addNode = useCallback((type, position) => {
    const spec = typeIndex[type];
    const after = position ? null : selected.node;
    change((d) => {
      const id = newId(d, type);
      const from = after && d.nodes.find((n) => n.id === after);
      let at = position || (from && from.position
        ? { x: from.position.x + 280, y: from.position.y }
        : flow.screenToFlowPosition(centre(wrapper.current)));
      if (!position) {
        const taken = (p) => d.nodes.some((n) => n.position
          && Math.abs(n.position.x - p.x) < 220 && Math.abs(n.position.y - p.y) < 100);
        while (taken(at)) at = { x: at.x, y: at.y + 120 };
      }
      d.nodes.push({ id, type, label: spec ? spec.title : type,
        position: { x: Math.round(at.x), y: Math.round(at.y) }, params: {} });
      if (from && !edgeProblem(d, from.id, id)) d.edges.push({ source: from.id, target: id });
      justAdded.current = id;
      setSelected({ node: id, edge: null });
      return d;
    });
  }, [change, flow, typeIndex, selected.node]);

  // Select a step and bring it to the middle of the view (from a problem, or the step search).
  const goTo = (nodeId) => {
    setSelected({ node: nodeId, edge: null });
    setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === nodeId })));
    const target = nodes.find((n) => n.id === nodeId);
    if (target) flow.setCenter(target.position.x + 110, target.position.y + 45, { duration: 200, zoom: 1 });
  };

  const onConnect = useCallback(({ source, target }) => {
    const problem = edgeProblem(doc, source, target);
    if (problem) {
      setNotice(`Not connected: ${problem}.`);
      return;
    }
    setNotice("");
    change((d) => { d.edges.push({ source, target }); return d; });
  }, [doc, change]);

  const save = useCallback(async () => {
    setSaving(true);
    const response = await api(`/api/workflows/${config.workflowId}`, csrf, {
      method: "PUT", body: JSON.stringify({ document: doc, base_version: version, message }),
    });
    setSaving(false);
    const body = await response.json();
    if (response.status === 409) {
      setConflict(body);
    } else if (response.ok) {
      setVersion(body.version);
      setSaved(JSON.stringify(doc));
      setMessage("");
      setNotice(`Saved version ${body.version}.`);
    } else {
      setNotice(`Not saved: ${body.detail || response.status}`);
    }
  }, [config.workflowId, csrf, doc, version, message]);

  const saveCopy = useCallback(async () => {
    const copy = { ...doc, name: `${doc.name} (copy)`.slice(0, 200) };
    const response = await api("/api/workflows", csrf, { method: "POST", body: JSON.stringify(copy) });
    if (response.ok) window.location.href = `/workflows/${(await response.json()).id}/edit`;
  }, [doc, csrf]);

  const dirty = JSON.stringify(doc) !== saved;
  useEffect(() => {
    const warn = (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const clipboard = useRef(null);
  const selectedIds = () => nodes.filter((n) => n.selected).map((n) => n.id);
  const paste = useCallback((data) => {
    if (!data || data.sdl !== "nodes" || !Array.isArray(data.nodes) || !data.nodes.length) return;
    change((d) => {
      const ids = pasteInto(d, data);
      justAdded.current = ids.length === 1 ? ids[0] : null;
      setNotice(`Pasted ${ids.join(", ")}.`);
      return d;
    });
  }, [change]);
  const copy = useCallback(() => {
    const ids = selectedIds();
    if (!ids.length) return;
    clipboard.current = clip(doc, ids);
    navigator.clipboard?.writeText(JSON.stringify(clipboard.current)).catch(() => {});
    setNotice(`Copied ${ids.join(", ")}.`);
  });
  const pasteFromClipboard = useCallback(async () => {
    try {  // another open workflow may have copied: the system clipboard comes first
      paste(JSON.parse(await navigator.clipboard.readText()));
    } catch {
      paste(clipboard.current);
    }
  }, [paste]);

  useEffect(() => {
    const keys = (e) => {
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (e.key === "Escape") setHelp(false);
      if (e.key === "?" && !typing) { setHelp((h) => !h); return; }
      if (mod && key === "s") {
        e.preventDefault();
        save();
        return;
      }
      if (typing || !mod) return; // text fields keep their own undo, copy and paste
      if (key === "z") {
        e.preventDefault();
        (e.shiftKey ? redo : undo)();
      } else if (key === "y") {
        e.preventDefault();
        redo();
      } else if (key === "c") {
        copy();
      } else if (key === "v") {
        e.preventDefault();
        pasteFromClipboard();
      } else if (key === "d") {
        e.preventDefault();
        paste(clip(doc, selectedIds()));
      }
    };
    window.addEventListener("keydown", keys);
    return () => window.removeEventListener("keydown", keys);
  }, [save, undo, redo, copy, paste, pasteFromClipboard, doc]);

  const autoLayout = () => change((d) => {
    const at = layout(d.nodes, d.edges);
    d.nodes.forEach((n) => { n.position = at[n.id]; });
    setTimeout(() => flow.fitView({ duration: 200 }), 50);
    return d;
  });

  const exportFile = () => {
    const blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${(doc.name || "workflow").replace(/[^A-Za-z0-9_-]+/g, "_")}.json`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  };
  const importFile = async (file) => {
    try {
      const data = JSON.parse(await file.text());
      if (!data || typeof data !== "object" || !Array.isArray(data.nodes) || !Array.isArray(data.edges)) {
        throw new Error("not a workflow (it needs nodes and edges)");
      }
      change(() => data);
      setNotice(`Imported ${file.name}: save to keep it as a new version.`);
      setTimeout(() => flow.fitView({ duration: 200 }), 50);
    } catch (err) {
      setNotice(`Not imported: ${file.name}: ${err.message}`);
    }
  };
  const restored = (workflow, number) => {
    history.current.past.push(doc);
    history.current.future = [];
    setDoc(workflow.document);
    setVersion(workflow.version);
    setSaved(JSON.stringify(workflow.document));
    setNotice(`Restored version ${number} as version ${workflow.version}.`);
    setTimeout(() => flow.fitView({ duration: 200 }), 50);
  };

  const node = doc.nodes.find((n) => n.id === selected.node);
  const edgeIndex = doc.edges.findIndex((e) => `${e.source}->${e.target}` === selected.edge);

  return (
    <div className="editor">
      <div className="editor-bar">
        <input className="workflow-name" aria-label="Workflow name" data-testid="workflow-name" value={doc.name}
               onChange={(e) => { const value = e.target.value; change((d) => { d.name = value; return d; }); }} />
        <span className="version">v{version}</span>
        {dirty && <span className="unsaved" data-testid="unsaved">unsaved changes</span>}
        <button type="button" data-testid="undo-button" aria-label="Undo" disabled={!history.current.past.length} onClick={undo}>Undo</button>
        <button type="button" data-testid="redo-button" aria-label="Redo" disabled={!history.current.future.length} onClick={redo}>Redo</button>
        <button type="button" data-testid="layout-button" aria-label="Auto-layout" onClick={autoLayout}>Auto-layout</button>
        <input className="step-search" list="step-list" placeholder="Go to step…" aria-label="Go to step"
               data-testid="step-search" onKeyDown={(e) => {
                 if (e.key !== "Enter") return;
                 const text = e.target.value.trim().toLowerCase();
                 const found = doc.nodes.find((n) => n.id.toLowerCase() === text)
                   || doc.nodes.find((n) => `${n.id} ${n.label || ""}`.toLowerCase().includes(text));
                 if (found) { goTo(found.id); e.target.value = ""; } else setNotice(`No step matches “${e.target.value}”.`);
               }} />
        <datalist id="step-list">{doc.nodes.map((n) => <option key={n.id} value={n.id}>{n.label || n.type}</option>)}</datalist>
        <button type="button" data-testid="export-button" aria-label="Export JSON" onClick={exportFile}>Export</button>
        <button type="button" data-testid="import-button" aria-label="Import JSON" onClick={() => importer.current.click()}>Import</button>
        <input type="file" accept="application/json,.json" hidden ref={importer} data-testid="import-file"
               onChange={(e) => { if (e.target.files[0]) importFile(e.target.files[0]); e.target.value = ""; }} />
        <button type="button" data-testid="help-button" aria-label="Keyboard shortcuts" onClick={() => setHelp(true)}>?</button>
        <input className="save-message" placeholder="What changed?" aria-label="Version message"
               data-testid="save-message" value={message} onChange={(e) => setMessage(e.target.value)} />
        <button type="button" className="primary" data-testid="save-button" aria-label="Save"
                disabled={!config.mayEdit || saving} onClick={save}>Save</button>
        <button type="button" data-testid="run-button" aria-label="Run" disabled={!config.mayRun || dirty || !runnable}
                title={dirty ? "Save first" : runnable ? "" : "Fix the problems first"}
                onClick={() => { window.location.href = `/workflows/${config.workflowId}/run`; }}>Run</button>
        <button type="button" data-testid="campaign-button" disabled={!config.mayRun || dirty || !runnable}
                title="An optimiser chooses each run's parameters"
                onClick={() => { window.location.href = `/workflows/${config.workflowId}/campaign`; }}>New campaign</button>
      </div>
      {notice && <div className="notice" role="status" data-testid="edit-notice">{notice}</div>}
      {liveRun && (
        <div className="notice live-run" data-testid="editor-live-run">
          Run <a href={`/runs/${liveRun.id}/`}>{liveRun.id}</a> is {liveRun.state}: its node states are on the canvas.
          {runEnded(liveRun.state) &&
            <button type="button" className="link" onClick={() => setLiveRun(null)}>clear</button>}
        </div>
      )}
      <div className="editor-main">
        <Palette groups={groups} onAdd={(type) => addNode(type)} />
        <div className="editor-canvas" ref={wrapper} data-testid="canvas"
             onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }}
             onDrop={(e) => {
               e.preventDefault();
               const type = e.dataTransfer.getData("application/x-sdl-node");
               if (type) addNode(type, flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
             }}>
          <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} onNodesChange={onNodesChange}
                     onEdgesChange={onEdgesChange}
                     onConnect={onConnect} snapToGrid snapGrid={[10, 10]} fitView deleteKeyCode={["Delete", "Backspace"]}
                     multiSelectionKeyCode="Shift" proOptions={{ hideAttribution: true }}
                     onlyRenderVisibleElements={doc.nodes.length > 200}
                     onNodeDragStop={(_, __, dragged) => change((d) => {
                       dragged.forEach((m) => {
                         const n = d.nodes.find((x) => x.id === m.id);
                         if (n) n.position = { x: Math.round(m.position.x), y: Math.round(m.position.y) };
                       });
                       return d;
                     })}
                     onNodesDelete={(gone) => change((d) => {
                       const ids = new Set(gone.map((g) => g.id));
                       d.nodes = d.nodes.filter((n) => !ids.has(n.id));
                       d.edges = d.edges.filter((e) => !ids.has(e.source) && !ids.has(e.target));
                       return d;
                     })}
                     onEdgesDelete={(gone) => change((d) => {
                       const ids = new Set(gone.map((g) => g.id));
                       d.edges = d.edges.filter((e) => !ids.has(`${e.source}->${e.target}`));
                       return d;
                     })}
                     onSelectionChange={({ nodes: ns, edges: es }) => {
                       const next = { node: ns.length === 1 ? ns[0].id : null,
                         edge: es.length === 1 && !ns.length ? es[0].id : null };
                       setSelected((s) => (s.node === next.node && s.edge === next.edge ? s : next));
                     }}>
            <Background gap={20} /><Controls /><MiniMap pannable zoomable />
          </ReactFlow>
        </div>
        <aside className="side-panel">
          {node && <NodeForm node={node} spec={typeIndex[node.type]} doc={doc} errors={problems} change={change} deckDefs={deckDefs} types={typeIndex} />}
          {!node && edgeIndex >= 0 && <EdgeForm key={selected.edge} index={edgeIndex} edge={doc.edges[edgeIndex]} errors={problems} change={change} doc={doc} types={typeIndex} />}
          {!node && edgeIndex < 0 && (<>
            <div className="tabs" role="tablist">
              {[["deck", "Deck"], ["liquids", "Liquids"], ["workflow", "Workflow"], ["history", "History"]].map(([key, title]) => (
                <button type="button" role="tab" key={key} aria-selected={tab === key} data-testid={`tab-${key}`}
                        className={tab === key ? "active" : ""} onClick={() => setTab(key)}>{title}</button>))}
            </div>
            {tab === "deck" && <DeckPanel doc={doc} change={change} errors={problems} defs={deckDefs} />}
            {tab === "liquids" && <LiquidsPanel doc={doc} change={change} errors={problems} defs={deckDefs} dry={dry} />}
            {tab === "workflow" && <WorkflowPanel doc={doc} change={change} errors={report.errors} />}
            {tab === "history" && <HistoryPanel workflowId={config.workflowId} version={version} csrf={csrf}
                                                dirty={dirty} onRestored={restored} />}
          </>)}
          <div className="problems" data-testid="validation-errors">
            <h4>{problems.length === 0 ? "No problems" : `${problems.length} problem${problems.length === 1 ? "" : "s"}`}</h4>
            {dryRunLabel(dry) && <p className={`dry-run dry-run-${dry.status.replace(" ", "-")}`} data-testid="dry-run-status"
                                    data-status={dry.status}>{dryRunLabel(dry)}</p>}
            <ul>{problems.map((e, i) => (
              <li key={i}><button type="button" className="link" onClick={() => {
                const match = /^nodes\[([^\]]+)\]/.exec(e.path);
                const edge = /^edges\[(\d+)\]/.exec(e.path);
                if (match) {
                  goTo(match[1]);
                } else if (edge && doc.edges[Number(edge[1])]) {
                  const { source, target } = doc.edges[Number(edge[1])];
                  setSelected({ node: null, edge: `${source}->${target}` });
                  setNodes((ns) => ns.map((n) => ({ ...n, selected: false })));
                } else {  // the deck, the robot, the parameters: the panel that holds them
                  setSelected({ node: null, edge: null });
                  setNodes((ns) => ns.map((n) => ({ ...n, selected: false })));
                  setTab(e.path.startsWith("parameters") || e.path === "name" ? "workflow" : "deck");
                }
              }}><code>{e.path}</code> {e.message}</button></li>))}
            </ul>
          </div>
        </aside>
      </div>
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
      {conflict && (
        <div className="dialog" role="dialog" aria-label="Someone saved in between" data-testid="conflict-dialog">
          <p>{conflict.detail}. Your changes are still here.</p>
          <button type="button" data-testid="conflict-copy" onClick={saveCopy}>Save mine as a new copy</button>
          <button type="button" data-testid="conflict-reload" onClick={() => { window.onbeforeunload = null; setSaved(JSON.stringify(doc)); setTimeout(() => window.location.reload(), 0); }}>
            Reload theirs (discard mine)</button>
          <button type="button" onClick={() => setConflict(null)}>Close</button>
        </div>
      )}
    </div>
  );
}

function centre(element) {
  const box = element.getBoundingClientRect();
  return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
}

export function EditorRoot({ config, csrf }) {
  return <ReactFlowProvider><Editor config={config} csrf={csrf} /></ReactFlowProvider>;
}
