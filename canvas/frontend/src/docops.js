// Pure operations on a workflow document (`sdl-workflow/1`, with its optional `groups` and
// `notes`). Each takes a document it may change (the editor hands it a copy) and returns it;
// none reads or writes anything else. Unit-tested in docops.test.js.

export const STEP = { width: 220, height: 90 };
const GAP = { x: 60, y: 30 };

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

// A fresh id from a base (a node type's last part, "group", "note"), unique in the document.
export function newId(doc, base) {
  const stem = base.split(".").pop().replace(/[^A-Za-z0-9_-]/g, "_");
  const taken = new Set([...doc.nodes, ...(doc.groups || []), ...(doc.notes || [])].map((x) => x.id));
  let i = 1;
  while (taken.has(`${stem}${i}`)) i += 1;
  return `${stem}${i}`;
}

// The first place at or below `at` where a step covers no other step.
export function freePlace(doc, at) {
  const taken = (p) => doc.nodes.some((n) => n.position
    && Math.abs(n.position.x - p.x) < STEP.width && Math.abs(n.position.y - p.y) < STEP.height + GAP.y / 2);
  let place = { x: Math.round(at.x), y: Math.round(at.y) };
  while (taken(place)) place = { x: place.x, y: place.y + STEP.height + GAP.y };
  return place;
}

// A new step. Dropped: where it was dropped. Added by click: after `after` (and connected to
// it) or at `at`, moved down until it covers no other step.
export function addStep(doc, { id, type, label, at, after, dropped = false }) {
  const from = after ? doc.nodes.find((n) => n.id === after) : null;
  const wanted = from && from.position ? { x: from.position.x + STEP.width + GAP.x, y: from.position.y } : at;
  const position = dropped ? { x: Math.round(at.x), y: Math.round(at.y) } : freePlace(doc, wanted);
  doc.nodes.push({ id, type, label, position, params: {} });
  if (from && !edgeProblem(doc, from.id, id)) doc.edges.push({ source: from.id, target: id });
  return doc;
}

export function connect(doc, source, target) {
  doc.edges.push({ source, target });
  return doc;
}

// Steps leave with their edges and their place in a group (an emptied group goes too).
export function deleteNodes(doc, ids) {
  const gone = new Set(ids);
  doc.nodes = doc.nodes.filter((n) => !gone.has(n.id));
  doc.edges = doc.edges.filter((e) => !gone.has(e.source) && !gone.has(e.target));
  if (doc.groups) {
    doc.groups = doc.groups
      .map((g) => ({ ...g, nodes: g.nodes.filter((id) => !gone.has(id)) }))
      .filter((g) => g.nodes.length);
  }
  return doc;
}

export const edgeId = (e) => `${e.source}->${e.target}`;

export function deleteEdges(doc, ids) {
  const gone = new Set(ids);
  doc.edges = doc.edges.filter((e) => !gone.has(edgeId(e)));
  return doc;
}

// `moved`: {id: {x, y}} for steps and notes.
export function moveItems(doc, moved) {
  [...doc.nodes, ...(doc.notes || [])].forEach((item) => {
    const p = moved[item.id];
    if (p) item.position = { x: Math.round(p.x), y: Math.round(p.y) };
  });
  return doc;
}

// A node's id may change: edges, groups and references to its output follow it.
export function renameNode(doc, from, to) {
  const follow = (value) => JSON.parse(JSON.stringify(value).replace(
    new RegExp(`nodes\\.${from}\\.output`, "g"), `nodes.${to}.output`));
  doc.nodes = doc.nodes.map((n) => follow(n.id === from ? { ...n, id: to } : n));
  doc.edges = doc.edges.map((e) => ({
    ...follow(e), source: e.source === from ? to : e.source, target: e.target === from ? to : e.target,
  }));
  (doc.groups || []).forEach((g) => { g.nodes = g.nodes.map((id) => (id === from ? to : id)); });
  return doc;
}

// Nodes (with the edges between them) as copied to the clipboard…
export function clip(doc, ids) {
  const chosen = new Set(ids);
  return {
    sdl: "nodes",
    nodes: doc.nodes.filter((n) => chosen.has(n.id)),
    edges: doc.edges.filter((e) => chosen.has(e.source) && chosen.has(e.target)),
  };
}

// …and pasted back with new ids, 40 px down and right; references between the pasted nodes
// follow them to their new ids. Returns the new ids.
export function pasteInto(doc, data) {
  const renamed = {};
  data.nodes.forEach((n) => {
    renamed[n.id] = newId({ nodes: [...doc.nodes, ...Object.values(renamed).map((id) => ({ id }))] }, n.type);
  });
  const follow = (value) => JSON.parse(JSON.stringify(value).replace(
    /nodes\.([A-Za-z0-9_-]+)\.output/g, (all, id) => (renamed[id] ? `nodes.${renamed[id]}.output` : all)));
  data.nodes.forEach((n) => {
    const position = n.position || { x: 0, y: 0 };
    doc.nodes.push({ ...follow(n), id: renamed[n.id], position: { x: position.x + 40, y: position.y + 40 } });
  });
  data.edges.forEach((e) => doc.edges.push({ ...follow(e), source: renamed[e.source], target: renamed[e.target] }));
  return Object.values(renamed);
}

// --- groups: a titled box around steps, moved with them. A step is in one group at most.

export function groupSteps(doc, { id, title, nodes }) {
  const chosen = new Set(nodes);
  doc.groups = (doc.groups || [])
    .map((g) => ({ ...g, nodes: g.nodes.filter((n) => !chosen.has(n)) }))
    .filter((g) => g.nodes.length);
  doc.groups.push({ id, title, nodes: [...nodes] });
  return doc;
}

export function updateGroup(doc, id, fields) {
  (doc.groups || []).forEach((g) => { if (g.id === id) Object.assign(g, fields); });
  return doc;
}

export function ungroup(doc, ids) {
  const gone = new Set(ids);
  doc.groups = (doc.groups || []).filter((g) => !gone.has(g.id));
  if (!doc.groups.length) delete doc.groups;
  return doc;
}

// The box around a group's steps (with room for its title), or null when none is placed.
export function groupBox(doc, group, padding = 20, title = 28) {
  const members = doc.nodes.filter((n) => group.nodes.includes(n.id) && n.position);
  if (!members.length) return null;
  const xs = members.map((n) => n.position.x);
  const ys = members.map((n) => n.position.y);
  const x = Math.min(...xs) - padding;
  const y = Math.min(...ys) - padding - title;
  return {
    x, y,
    width: Math.max(...xs) + STEP.width + padding - x,
    height: Math.max(...ys) + STEP.height + padding - y,
  };
}

// --- notes: free text on the canvas, never run.

export function addNote(doc, { id, text = "", at }) {
  doc.notes = [...(doc.notes || []), { id, text, position: { x: Math.round(at.x), y: Math.round(at.y) } }];
  return doc;
}

export function updateNote(doc, id, text) {
  (doc.notes || []).forEach((n) => { if (n.id === id) n.text = text; });
  return doc;
}

export function deleteNotes(doc, ids) {
  const gone = new Set(ids);
  doc.notes = (doc.notes || []).filter((n) => !gone.has(n.id));
  if (!doc.notes.length) delete doc.notes;
  return doc;
}

// --- reading

// A step by its exact id, else the first whose id or label contains the text.
export function findStep(doc, text) {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return null;
  return doc.nodes.find((n) => n.id.toLowerCase() === wanted)
    || doc.nodes.find((n) => `${n.id} ${n.label || ""}`.toLowerCase().includes(wanted)) || null;
}

// Validation problems by node id (paths `nodes[ID]…`).
export function problemsByNode(problems) {
  const byNode = {};
  problems.forEach((e) => {
    const match = /^nodes\[([^\]]+)\]/.exec(e.path);
    if (match) (byNode[match[1]] = byNode[match[1]] || []).push(e.message);
  });
  return byNode;
}

// Whether a file's content is shaped like a workflow (before it replaces the one on screen).
export function importProblem(data) {
  if (!data || typeof data !== "object" || Array.isArray(data)) return "not a JSON object";
  if (!Array.isArray(data.nodes) || !Array.isArray(data.edges)) return "not a workflow (it needs nodes and edges)";
  return null;
}
