// The workflow editor: palette, canvas, side panel, validation as you edit, save with conflicts.
// Document changes are docops.js functions through the history reducer (history.js); server
// calls are api.js; shortcuts are keymap.js.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import * as api from "./api.js";
import * as ops from "./docops.js";
import { layout } from "./graph.jsx";
import { FIT, FlowCanvas, parseFlowId } from "./FlowCanvas.jsx";
import { runEnded } from "./vocabulary.js";
import { DeckPanel } from "./DeckPanel.jsx";
import { EdgeForm, GroupForm, NodeForm } from "./forms.jsx";
import { HelpOverlay, HistoryPanel, WorkflowPanel } from "./panels.jsx";
import { DRY_RUN_BLOCKS, useDryRun } from "./dryrun.js";
import { LiquidsPanel } from "./LiquidsPanel.jsx";
import { useHistory } from "./history.js";
import { actionFor } from "./keymap.js";
import { useDefinitions, useLiveRun, useNodeTypes, useValidation } from "./editorHooks.js";
import { EditorBar } from "./EditorBar.jsx";
import { Palette } from "./Palette.jsx";
import { ProblemList } from "./ProblemList.jsx";

function centre(element) {
  const box = element.getBoundingClientRect();
  return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
}

function download(name, text) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

const NOTHING = { node: null, edge: null, group: null, steps: [] };

function Editor({ config }) {
  const flow = useReactFlow();
  const wrapper = useRef(null);
  const findRef = useRef(null);
  const history = useHistory(config.document);
  const { doc } = history;
  const [workflowId, setWorkflowId] = useState(config.workflowId);
  const [version, setVersion] = useState(config.version);
  const [saved, setSaved] = useState(() => (config.workflowId ? JSON.stringify(config.document) : ""));
  const [selected, setSelected] = useState(NOTHING);
  const pendingSelect = useRef(null); // an item added (or renamed) comes selected
  const [notice, setNotice] = useState("");
  const [conflict, setConflict] = useState(null);
  const [message, setMessage] = useState("");
  const [saving, setSaving] = useState(false);
  const [tab, setTab] = useState("deck");
  const [help, setHelp] = useState(false);
  const groups = useNodeTypes();
  const deckDefs = useDefinitions(doc.robot ? doc.robot.type : "");
  const report = useValidation(doc);
  const [liveRun, clearLiveRun] = useLiveRun(workflowId);
  const dry = useDryRun(doc, report.valid);
  const problems = useMemo(() => [...report.errors, ...(dry.problems || [])], [report, dry]);
  const byNode = useMemo(() => ops.problemsByNode(problems), [problems]);
  const runnable = report.valid && !DRY_RUN_BLOCKS.includes(dry.status);
  const typeIndex = useMemo(
    () => Object.fromEntries(groups.flatMap((g) => g.types).map((t) => [t.type, t])), [groups]);

  const { change: edit } = history;
  const change = useCallback((fn, options = {}) => {
    if (options.select) pendingSelect.current = options.select;
    edit(fn);
  }, [edit]);
  const onText = useCallback((id, text) => change((d) => ops.updateNote(d, id, text)), [change]);

  // A step dropped on the canvas goes where it is dropped; one added by click goes after the
  // selected step (and is connected to it), or mid-view, and never on top of another.
  const addNode = (type, dropAt) => {
    const spec = typeIndex[type];
    const id = ops.newId(doc, type);
    const at = dropAt || flow.screenToFlowPosition(centre(wrapper.current));
    change((d) => ops.addStep(d, { id, type, label: spec ? spec.title : type, at, after: dropAt ? null : selected.node, dropped: Boolean(dropAt) }),
      { select: id });
  };
  const addNote = () => {
    const id = ops.newId(doc, "note");
    change((d) => ops.addNote(d, { id, at: ops.freePlace(d, flow.screenToFlowPosition(centre(wrapper.current))) }), { select: `note:${id}` });
  };
  const group = () => {
    if (!selected.steps.length) return;
    const id = ops.newId(doc, "group");
    change((d) => ops.groupSteps(d, { id, title: `Group ${(doc.groups || []).length + 1}`, nodes: selected.steps }), { select: `group:${id}` });
  };

  // Select a step and bring it to the middle of the view (from a problem, or the step search).
  const goTo = (nodeId) => {
    flow.setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === nodeId })));
    const target = doc.nodes.find((n) => n.id === nodeId);
    if (target && target.position) flow.setCenter(target.position.x + 110, target.position.y + 45, { duration: 200, zoom: 1 });
  };
  const pickProblem = (path) => {
    const node = /^nodes\[([^\]]+)\]/.exec(path);
    const edge = /^edges\[(\d+)\]/.exec(path);
    if (node) return goTo(node[1]);
    flow.setNodes((ns) => ns.map((n) => ({ ...n, selected: false })));
    if (edge && doc.edges[Number(edge[1])]) {
      const chosen = ops.edgeId(doc.edges[Number(edge[1])]);
      flow.setEdges((es) => es.map((e) => ({ ...e, selected: e.id === chosen })));
    } else {  // the deck, the robot, the parameters: the panel that holds them
      setTab(path.startsWith("parameters") || path === "name" ? "workflow" : "deck");
    }
    return undefined;
  };

  const onSelectionChange = useCallback(({ nodes: ns, edges: es }) => {
    const steps = ns.filter((n) => n.type === "step").map((n) => n.id);
    const boxes = ns.filter((n) => n.type === "box");
    const next = {
      node: ns.length === 1 && steps.length === 1 ? steps[0] : null,
      edge: es.length === 1 && !ns.length ? es[0].id : null,
      group: ns.length === 1 && boxes.length === 1 ? parseFlowId(boxes[0].id).id : null,
      steps,
    };
    setSelected((s) => (JSON.stringify(s) === JSON.stringify(next) ? s : next));
  }, []);

  const save = async () => {
    setSaving(true);
    try {
      const response = workflowId
        ? await api.saveWorkflow(workflowId, doc, version, message)
        : await api.createWorkflow(doc, message);
      const body = await response.json();
      if (response.status === 409) {
        setConflict(body);
      } else if (response.ok) {
        if (!workflowId) {
          setWorkflowId(body.id);
          window.history.replaceState(null, "", `/workflows/${body.id}/edit`);
        }
        setVersion(body.version);
        setSaved(JSON.stringify(doc));
        setMessage("");
        setNotice(`Saved version ${body.version}.`);
      } else {
        setNotice(`Not saved: ${body.detail || response.status}`);
      }
    } catch {
      setNotice("Not saved: the server could not be reached. Your changes are still here.");
    }
    setSaving(false);
  };

  const saveCopy = async () => {
    const response = await api.createWorkflow({ ...doc, name: `${doc.name} (copy)`.slice(0, 200) });
    if (response.ok) window.location.href = `/workflows/${(await response.json()).id}/edit`;
  };

  const dirty = useMemo(() => JSON.stringify(doc) !== saved, [doc, saved]);
  useEffect(() => {
    const warn = (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const clipboard = useRef(null);
  const selectedSteps = () => selected.steps;
  const paste = (data) => {
    if (!data || data.sdl !== "nodes" || !Array.isArray(data.nodes) || !data.nodes.length) return;
    const next = structuredClone(doc);
    const ids = ops.pasteInto(next, data);
    change(() => next, { select: ids.length === 1 ? ids[0] : null });
    setNotice(`Pasted ${ids.join(", ")}.`);
  };
  const copy = () => {
    const ids = selectedSteps();
    if (!ids.length) return;
    clipboard.current = ops.clip(doc, ids);
    navigator.clipboard?.writeText(JSON.stringify(clipboard.current)).catch(() => {});
    setNotice(`Copied ${ids.join(", ")}.`);
  };
  const pasteFromClipboard = async () => {
    try {  // another open workflow may have copied: the system clipboard comes first
      paste(JSON.parse(await navigator.clipboard.readText()));
    } catch {
      paste(clipboard.current);
    }
  };

  const actions = {
    save, undo: history.undo, redo: history.redo, copy, paste: pasteFromClipboard,
    duplicate: () => paste(ops.clip(doc, selectedSteps())), group,
    find: () => findRef.current && findRef.current.focus(),
    help: () => setHelp((h) => !h), close: () => setHelp(false),
  };
  useEffect(() => {
    const keys = (e) => {
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
      const entry = actionFor(e, typing);
      if (!entry) return;
      if (!entry.keepDefault) e.preventDefault();
      actions[entry.action]();
    };
    window.addEventListener("keydown", keys);
    return () => window.removeEventListener("keydown", keys);
  });

  const fitSoon = () => setTimeout(() => flow.fitView({ ...FIT, duration: 200 }), 50);
  const autoLayout = () => {
    const at = layout(doc.nodes, doc.edges);
    change((d) => ops.moveItems(d, at));
    fitSoon();
  };
  const importFile = async (file) => {
    try {
      const data = JSON.parse(await file.text());
      const problem = ops.importProblem(data);
      if (problem) throw new Error(problem);
      change(() => data);
      setNotice(`Imported ${file.name}: save to keep it as a new version.`);
      fitSoon();
    } catch (err) {
      setNotice(`Not imported: ${file.name}: ${err.message}`);
    }
  };
  const restored = (workflow, number) => {
    history.replace(workflow.document);
    setVersion(workflow.version);
    setSaved(JSON.stringify(workflow.document));
    setNotice(`Restored version ${number} as version ${workflow.version}.`);
    fitSoon();
  };

  const node = doc.nodes.find((n) => n.id === selected.node);
  const edgeIndex = doc.edges.findIndex((e) => ops.edgeId(e) === selected.edge);
  const box = (doc.groups || []).find((g) => g.id === selected.group);

  return (
    <div className="editor">
      <EditorBar doc={doc} change={change} workflowId={workflowId} version={version} dirty={dirty} history={history}
                 saving={saving} message={message} setMessage={setMessage} config={config} runnable={runnable}
                 onSave={save} onLayout={autoLayout} onGoTo={goTo} onNote={addNote} onGroup={group}
                 canGroup={selected.steps.length > 0} onExport={() => download(
                   `${(doc.name || "workflow").replace(/[^A-Za-z0-9_-]+/g, "_")}.json`, JSON.stringify(doc, null, 2))}
                 onImport={importFile} onHelp={() => setHelp(true)} setNotice={setNotice} findRef={findRef} />
      {notice && <div className="notice" role="status" data-testid="edit-notice">{notice}</div>}
      {liveRun && (
        <div className="notice live-run" data-testid="editor-live-run">
          Run <a href={`/runs/${liveRun.id}/`}>{liveRun.id}</a> is {liveRun.state}: its node states are on the canvas.
          {runEnded(liveRun.state) && <button type="button" className="link" onClick={clearLiveRun}>clear</button>}
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
          <FlowCanvas doc={doc} byNode={byNode} live={liveRun} errors={report.errors} change={change} onText={onText}
                      pendingSelect={pendingSelect} onSelectionChange={onSelectionChange} setNotice={setNotice} />
        </div>
        <aside className="side-panel">
          {node && <NodeForm node={node} spec={typeIndex[node.type]} doc={doc} errors={problems} change={change} deckDefs={deckDefs} types={typeIndex} />}
          {!node && edgeIndex >= 0 && <EdgeForm key={selected.edge} index={edgeIndex} edge={doc.edges[edgeIndex]} errors={problems} change={change} doc={doc} types={typeIndex} />}
          {!node && box && <GroupForm key={box.id} group={box} doc={doc} change={change} onGoTo={goTo} />}
          {!node && edgeIndex < 0 && !box && (<>
            <div className="tabs" role="tablist">
              {[["deck", "Deck"], ["liquids", "Liquids"], ["workflow", "Workflow"], ["history", "History"]].map(([key, title]) => (
                <button type="button" role="tab" key={key} aria-selected={tab === key} data-testid={`tab-${key}`}
                        className={tab === key ? "active" : ""} onClick={() => setTab(key)}>{title}</button>))}
            </div>
            {tab === "deck" && <DeckPanel doc={doc} change={change} errors={problems} defs={deckDefs} />}
            {tab === "liquids" && <LiquidsPanel doc={doc} change={change} errors={problems} defs={deckDefs} dry={dry} />}
            {tab === "workflow" && <WorkflowPanel doc={doc} change={change} errors={report.errors} />}
            {tab === "history" && (workflowId
              ? <HistoryPanel workflowId={workflowId} version={version} dirty={dirty} onRestored={restored} />
              : <p className="hint">Versions appear once the workflow is saved.</p>)}
          </>)}
          <ProblemList problems={problems} dry={dry} onPick={pickProblem} />
        </aside>
      </div>
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
      {conflict && (
        <div className="dialog" role="dialog" aria-label="Someone saved in between" data-testid="conflict-dialog">
          <p>{conflict.detail}. Your changes are still here.</p>
          <button type="button" data-testid="conflict-copy" onClick={saveCopy}>Save mine as a new copy</button>
          <button type="button" data-testid="conflict-reload" onClick={() => { setSaved(JSON.stringify(doc)); setTimeout(() => window.location.reload(), 0); }}>
            Reload theirs (discard mine)</button>
          <button type="button" onClick={() => setConflict(null)}>Close</button>
        </div>
      )}
    </div>
  );
}

export function EditorRoot({ config }) {
  return <ReactFlowProvider><Editor config={config} /></ReactFlowProvider>;
}
