// The canvas: the document's steps, edges, group boxes and notes in React Flow. Its own
// component, so that React Flow's own updates (measuring, panning) redraw only the canvas.
import { memo, useEffect, useRef } from "react";
import { Controls, ReactFlow, useEdgesState, useNodesState } from "@xyflow/react";
import * as ops from "./docops.js";
import { layout, nodeTypes } from "./graph.jsx";

// Notes and group boxes are React Flow nodes too, with ids no step can have.
export function parseFlowId(flowId) {
  const match = /^(note|group):(.*)$/.exec(flowId);
  return match ? { kind: match[1], id: match[2] } : { kind: "step", id: flowId };
}

// A step's size and ports before it is measured, so that a large workflow draws only the
// steps in view from the first frame (React Flow renders every unmeasured node once).
const STEP_SHAPE = {
  measured: { width: ops.STEP.width, height: ops.STEP.height }, // fixed by the stylesheet
  handles: [
    { type: "target", position: "left", x: -4, y: ops.STEP.height / 2 - 4, width: 8, height: 8 },
    { type: "source", position: "right", x: ops.STEP.width - 4, y: ops.STEP.height / 2 - 4, width: 8, height: 8 },
  ],
};

function sameList(a, b) {
  return a === b || (Boolean(a) && Boolean(b) && a.length === b.length && a.every((x, i) => x === b[i]));
}

// The document as React Flow nodes: group boxes behind, then steps, then notes. `before`
// keeps what React Flow knows of each (selection, measured size).
function toFlowNodes(doc, before, { select, byNode, live, onText }) {
  const placed = doc.nodes.some((n) => !n.position) ? layout(doc.nodes, doc.edges) : {}; // shown, not saved
  const keep = (id) => ({ ...(before.get(id) || {}), ...(select ? { selected: id === select } : {}) });
  const groups = (doc.groups || []).flatMap((g) => {
    const box = ops.groupBox(doc, g);
    if (!box) return [];
    const id = `group:${g.id}`;
    return [{ ...keep(id), id, type: "box", position: { x: box.x, y: box.y }, zIndex: -1, dragHandle: ".group-title",
      style: { width: box.width, height: box.height },
      data: { groupId: g.id, title: g.title, width: box.width, height: box.height } }];
  });
  const steps = doc.nodes.map((n) => {
    const was = before.get(n.id);
    const state = live && live.nodes[n.id];
    const problems = byNode[n.id];
    if (was && !select && was.data.node === n && was.data.live === state && sameList(was.data.problems, problems)) {
      return was; // unchanged: the same object, so its step is not drawn again
    }
    return {
      ...keep(n.id), id: n.id, type: "step", position: n.position || placed[n.id], ...STEP_SHAPE,
      data: { node: n, testid: `node-${n.id}`, problems, live: state, ...(state || {}) },
    };
  });
  const notes = (doc.notes || []).map((n) => {
    const id = `note:${n.id}`;
    return { ...keep(id), id, type: "note", position: n.position, data: { noteId: n.id, text: n.text, onText } };
  });
  return [...groups, ...steps, ...notes];
}

function toFlowEdges(doc, errors, before) {
  const chosen = new Set(before.filter((e) => e.selected).map((e) => e.id));
  return doc.edges.map((e, i) => {
    const id = ops.edgeId(e);
    return {
      id, source: e.source, target: e.target, label: e.when || undefined, selected: chosen.has(id),
      className: errors.some((p) => p.path.startsWith(`edges[${i}]`)) ? "edge-problem" : "",
    };
  });
}

// Above this many steps only those in view are drawn. (No dotted background: without a GPU its
// pattern is repainted on every frame of a pan.)
const CULL_ABOVE = 200;
// Fitting the view: a large workflow opens at a readable size, a small one not blown up.
export const FIT = { minZoom: 0.8, maxZoom: 1.25 };

export const FlowCanvas = memo(function FlowCanvas({ doc, byNode, live, errors, change, onText, pendingSelect,
  onSelectionChange, setNotice }) {
  // Nodes and edges live in React Flow's state (the React Flow 12 way); the document is
  // synced in, keeping what is selected.
  const [nodes, setNodes, onNodesChange] = useNodesState([]);
  const [edges, setEdges, onEdgesChange] = useEdgesState([]);
  useEffect(() => {
    setNodes((current) => {
      const select = pendingSelect.current;
      pendingSelect.current = null;
      return toFlowNodes(doc, new Map(current.map((n) => [n.id, n])), { select, byNode, live, onText });
    });
  }, [doc, byNode, live, onText, setNodes, pendingSelect]);
  useEffect(() => { setEdges((current) => toFlowEdges(doc, errors, current)); }, [doc, errors, setEdges]);

  const onConnect = ({ source, target }) => {
    const problem = ops.edgeProblem(doc, source, target);
    if (problem) return setNotice(`Not connected: ${problem}.`);
    setNotice("");
    return change((d) => ops.connect(d, source, target));
  };

  // Dragging a group's title moves its steps with it; every drop is one step of history.
  const dragging = useRef(null);
  const onNodeDragStart = (_, node) => {
    const { kind, id } = parseFlowId(node.id);
    const box = kind === "group" && (doc.groups || []).find((g) => g.id === id);
    dragging.current = box ? { id: node.id, origin: node.position,
      members: Object.fromEntries(doc.nodes.filter((n) => box.nodes.includes(n.id)).map((n) => [n.id, n.position])) } : null;
  };
  const shifted = (node) => {
    const drag = dragging.current;
    if (!drag || node.id !== drag.id) return {};
    const dx = node.position.x - drag.origin.x;
    const dy = node.position.y - drag.origin.y;
    return Object.fromEntries(Object.entries(drag.members).map(([id, p]) => [id, { x: p.x + dx, y: p.y + dy }]));
  };
  const onNodeDrag = (_, node) => {
    const moved = shifted(node);
    if (Object.keys(moved).length) setNodes((ns) => ns.map((n) => (moved[n.id] ? { ...n, position: moved[n.id] } : n)));
  };
  const onNodeDragStop = (_, node, dragged) => {
    const moved = shifted(node);
    dragged.forEach((m) => {
      const { kind, id } = parseFlowId(m.id);
      if (kind !== "group") moved[id] = m.position;
    });
    dragging.current = null;
    if (Object.keys(moved).length) change((d) => ops.moveItems(d, moved));
  };

  const onDelete = ({ nodes: gone, edges: goneEdges }) => change((d) => {
    const by = { step: [], note: [], group: [] };
    gone.forEach((n) => { const { kind, id } = parseFlowId(n.id); by[kind].push(id); });
    ops.deleteNodes(d, by.step);
    if (by.note.length) ops.deleteNotes(d, by.note);
    if (by.group.length) ops.ungroup(d, by.group);
    return ops.deleteEdges(d, goneEdges.map((e) => e.id));
  });

  return (
    <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} onNodesChange={onNodesChange}
               onEdgesChange={onEdgesChange} onConnect={onConnect} onDelete={onDelete}
               onNodeDragStart={onNodeDragStart} onNodeDrag={onNodeDrag} onNodeDragStop={onNodeDragStop}
               onSelectionChange={onSelectionChange} elevateNodesOnSelect={false}
               snapToGrid snapGrid={[10, 10]} fitView fitViewOptions={FIT} deleteKeyCode={["Delete", "Backspace"]}
               multiSelectionKeyCode="Shift" proOptions={{ hideAttribution: true }}
               onlyRenderVisibleElements={doc.nodes.length > CULL_ABOVE}>
      <Controls />
    </ReactFlow>
  );
});
