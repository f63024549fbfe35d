// The workflow drawn with React Flow: shared by the run page (read-only) and the editor.
import { memo, useState } from "react";
import { Handle, Position } from "@xyflow/react";
import dagre from "@dagrejs/dagre";
import { VOCABULARY } from "./vocabulary.js";

export const CATEGORY_COLOURS = {
  control: "#5c6ac4",
  opentrons: "#0f7b6c",
  "opentrons.modules": "#b7791f",
  integration: "#8e44ad",
  data: "#2f6fdf",
};

export function categoryOf(type) {
  return (VOCABULARY.nodeLooks[type] || {}).category || type.split(".")[0];
}

function wellRange(location) {
  if (!location || typeof location !== "object") return "";
  const wells = location.wells || (location.well ? [location.well] : []);
  if (wells.length === 0) return location.labware || "";
  const span = wells.length === 1 ? wells[0] : `${wells[0]}–${wells[wells.length - 1]}`;
  return `${location.labware} ${span}`;
}

// A reference reads as `$volume` (a run parameter) or `$mix.result` (a node's output).
function show(value) {
  if (typeof value !== "string" || !value.startsWith("{{")) return value;
  const path = value.replace(/[{}\s]/g, "");
  return "$" + path.replace(/^params\./, "").replace(/^nodes\.([^.]+)\.output\./, "$1.");
}

// One value of a summary: wells as a range, references as $name, records by their names.
function readable(value) {
  if (value === undefined || value === null || value === "") return "?";
  if (typeof value === "string") return show(value);
  if (Array.isArray(value)) return value.map(readable).join(", ");
  if (typeof value === "object") return "labware" in value ? wellRange(value) : Object.keys(value).join(", ");
  return String(value);
}

// One line that says what a node does, from its type's template (served by the server),
// e.g. "{volume} µL {source} → {dest}" → "100 µL reservoir A1 → plate A1–A12".
export function summary(node) {
  const template = (VOCABULARY.nodeLooks[node.type] || {}).summary || "";
  const params = node.params || {};
  return template.replace(/\{(\w+)\}/g, (_, name) => readable(params[name])).trim();
}

export const StepNode = memo(function StepNode({ data, selected }) {
  const { node, state, attempts, error, problems } = data;
  const colour = CATEGORY_COLOURS[categoryOf(node.type)] || "#555";
  const classes = ["step", state ? `state-${state}` : "", selected ? "selected" : "",
    problems && problems.length ? "has-problems" : "", node.disabled ? "disabled" : ""];
  return (
    <div className={classes.join(" ")} data-testid={data.testid} data-state={state || ""}
         title={error || (problems || []).join("\n") || undefined} style={{ borderTopColor: colour }}>
      <Handle type="target" position={Position.Left} data-testid={`port-in-${node.id}`} />
      <div className="step-title">
        <span className="step-dot" style={{ background: colour }} />
        <span className="step-label">{node.label || node.id}</span>
        {state && <span className="step-state">{state}{state === "retrying" && attempts ? ` #${attempts + 1}` : ""}</span>}
      </div>
      <div className="step-type">{node.type}</div>
      <div className="step-summary">{summary(node)}</div>
      {error && <div className="step-error">{error}</div>}
      <Handle type="source" position={Position.Right} data-testid={`port-out-${node.id}`} />
    </div>
  );
});

// A sticky note: free text on the canvas, edited in place, never run.
export const NoteNode = memo(function NoteNode({ data }) {
  const [text, setText] = useState(data.text);
  const [was, setWas] = useState(data.text);
  if (data.text !== was) { setWas(data.text); setText(data.text); } // undo, or another edit
  return (
    <div className="sticky-note" data-testid={`note-${data.noteId}`}>
      <textarea className="nodrag" aria-label="Note" data-testid={`note-text-${data.noteId}`} value={text}
                placeholder="A note…" readOnly={!data.onText} onChange={(e) => setText(e.target.value)}
                onBlur={() => text !== data.text && data.onText && data.onText(data.noteId, text)} />
    </div>
  );
});

// A group's box: drawn behind its steps; dragging it (by its title) moves them.
export const GroupNode = memo(function GroupNode({ data, selected }) {
  return (
    <div className={`group-box${selected ? " selected" : ""}`} data-testid={`group-${data.groupId}`}
         style={{ width: data.width, height: data.height }}>
      <div className="group-title" data-testid={`group-title-${data.groupId}`}>{data.title}</div>
    </div>
  );
});

export const nodeTypes = { step: StepNode, note: NoteNode, box: GroupNode };

export function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80 });
  g.setDefaultEdgeLabel(() => ({}));
  nodes.forEach((n) => g.setNode(n.id, { width: 220, height: 90 }));
  edges.forEach((e) => g.setEdge(e.source, e.target));
  dagre.layout(g);
  const at = {};
  nodes.forEach((n) => {
    const p = g.node(n.id);
    at[n.id] = { x: Math.round(p.x - 110), y: Math.round(p.y - 45) };
  });
  return at;
}

// The document's nodes and edges as React Flow elements.
export function toFlow(document, extra = () => ({}), testid = (id) => `node-${id}`) {
  const docNodes = document.nodes || [];
  const docEdges = document.edges || [];
  const missing = docNodes.some((n) => !n.position);
  const placed = missing ? layout(docNodes, docEdges) : {};
  const nodes = docNodes.map((n) => ({
    id: n.id,
    type: "step",
    position: n.position || placed[n.id],
    data: { node: n, testid: testid(n.id), ...extra(n) },
  }));
  const edges = docEdges.map((e, i) => ({
    id: `e${i}-${e.source}-${e.target}`,
    source: e.source,
    target: e.target,
    label: e.when || undefined,
    data: { when: e.when || "" },
    animated: false,
  }));
  return { nodes, edges };
}
