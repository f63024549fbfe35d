import { describe, expect, it } from "vitest";
import * as ops from "./docops.js";

const doc = (nodes = [], edges = [], extra = {}) => ({ schema: "sdl-workflow/1", name: "t", nodes, edges, ...extra });
const step = (id, x = 0, y = 0) => ({ id, type: "control.log", position: { x, y }, params: {} });

describe("edges", () => {
  it("refuses a self loop, a duplicate and a cycle, in the order of the edges", () => {
    const d = doc([step("a"), step("b"), step("c")], [{ source: "a", target: "b" }, { source: "b", target: "c" }]);
    expect(ops.edgeProblem(d, "a", "a")).toMatch(/itself/);
    expect(ops.edgeProblem(d, "a", "b")).toMatch(/already there/);
    expect(ops.edgeProblem(d, "c", "a")).toBe("c → a would make a cycle (a already leads to c)");
    expect(ops.edgeProblem(d, "a", "c")).toBeNull();
  });

  it("deletes edges by their canvas id", () => {
    const d = doc([step("a"), step("b")], [{ source: "a", target: "b" }]);
    expect(ops.deleteEdges(d, ["a->b"]).edges).toEqual([]);
  });
});

describe("adding steps", () => {
  it("places three clicked steps in three distinct places", () => {
    const d = doc();
    ["log1", "log2", "log3"].forEach((id) => ops.addStep(d, { id, type: "control.log", at: { x: 100, y: 100 } }));
    const places = d.nodes.map((n) => `${n.position.x},${n.position.y}`);
    expect(new Set(places).size).toBe(3);
  });

  it("puts a step added after another to its right and connects them", () => {
    const d = doc([step("a", 0, 0)]);
    ops.addStep(d, { id: "b", type: "control.log", at: { x: 500, y: 500 }, after: "a" });
    expect(d.nodes[1].position).toEqual({ x: ops.STEP.width + 60, y: 0 });
    expect(d.edges).toEqual([{ source: "a", target: "b" }]);
  });

  it("drops a step exactly where it is dropped", () => {
    const d = doc([step("a", 0, 0)]);
    ops.addStep(d, { id: "b", type: "control.log", at: { x: 10.4, y: 0 }, dropped: true });
    expect(d.nodes[1].position).toEqual({ x: 10, y: 0 });
  });

  it("numbers new ids past every step, group and note", () => {
    const d = doc([step("log1")], [], { groups: [{ id: "log2", title: "x", nodes: ["log1"] }], notes: [{ id: "log3", text: "", position: { x: 0, y: 0 } }] });
    expect(ops.newId(d, "control.log")).toBe("log4");
  });
});

describe("renaming, deleting, copying", () => {
  it("renames a step in its edges, references and group", () => {
    const d = doc([step("a"), { ...step("b"), params: { message: "{{ nodes.a.output.x }}" } }], [{ source: "a", target: "b", when: "nodes.a.output.ok" }],
      { groups: [{ id: "g", title: "G", nodes: ["a", "b"] }] });
    ops.renameNode(d, "a", "first");
    expect(d.nodes.map((n) => n.id)).toEqual(["first", "b"]);
    expect(d.nodes[1].params.message).toBe("{{ nodes.first.output.x }}");
    expect(d.edges[0]).toEqual({ source: "first", target: "b", when: "nodes.first.output.ok" });
    expect(d.groups[0].nodes).toEqual(["first", "b"]);
  });

  it("takes a deleted step out of its edges and group, and drops an emptied group", () => {
    const d = doc([step("a"), step("b")], [{ source: "a", target: "b" }],
      { groups: [{ id: "g1", title: "A", nodes: ["a"] }, { id: "g2", title: "B", nodes: ["a", "b"] }] });
    ops.deleteNodes(d, ["a"]);
    expect(d.edges).toEqual([]);
    expect(d.groups).toEqual([{ id: "g2", title: "B", nodes: ["b"] }]);
  });

  it("pastes copies with new ids whose references follow them", () => {
    const d = doc([step("log1"), { ...step("log2"), params: { message: "{{ nodes.log1.output.x }}" } }], [{ source: "log1", target: "log2" }]);
    const ids = ops.pasteInto(d, ops.clip(d, ["log1", "log2"]));
    expect(ids).toEqual(["log3", "log4"]);
    expect(d.nodes[3].params.message).toBe("{{ nodes.log3.output.x }}");
    expect(d.edges[1]).toEqual({ source: "log3", target: "log4" });
    expect(d.nodes[2].position).toEqual({ x: 40, y: 40 });
  });
});

describe("groups and notes", () => {
  it("groups steps (each in one group at most) and boxes them", () => {
    const d = doc([step("a", 0, 0), step("b", 300, 100)]);
    ops.groupSteps(d, { id: "g1", title: "One", nodes: ["a", "b"] });
    ops.groupSteps(d, { id: "g2", title: "Two", nodes: ["b"] });
    expect(d.groups).toEqual([{ id: "g1", title: "One", nodes: ["a"] }, { id: "g2", title: "Two", nodes: ["b"] }]);
    expect(ops.groupBox(d, d.groups[1])).toEqual({ x: 280, y: 52, width: 260, height: 158 });
    ops.ungroup(d, ["g1", "g2"]);
    expect(d.groups).toBeUndefined();
  });

  it("moves steps and notes, rounded", () => {
    const d = doc([step("a")], [], { notes: [{ id: "n", text: "hi", position: { x: 0, y: 0 } }] });
    ops.moveItems(d, { a: { x: 1.6, y: 2.2 }, n: { x: 5, y: 5 } });
    expect(d.nodes[0].position).toEqual({ x: 2, y: 2 });
    expect(d.notes[0].position).toEqual({ x: 5, y: 5 });
  });

  it("adds, edits and deletes notes", () => {
    const d = doc();
    ops.addNote(d, { id: "note1", at: { x: 1, y: 2 } });
    ops.updateNote(d, "note1", "Check the tips");
    expect(d.notes).toEqual([{ id: "note1", text: "Check the tips", position: { x: 1, y: 2 } }]);
    ops.deleteNotes(d, ["note1"]);
    expect(d.notes).toBeUndefined();
  });
});

describe("reading", () => {
  it("finds a step by id first, then by label", () => {
    const d = doc([{ ...step("mix"), label: "Mix the plate" }, { ...step("plate"), label: "Read" }]);
    expect(ops.findStep(d, "plate").id).toBe("plate");
    expect(ops.findStep(d, "the pl").id).toBe("mix");
    expect(ops.findStep(d, "nothing")).toBeNull();
  });

  it("sorts problems by node and refuses a file that is no workflow", () => {
    expect(ops.problemsByNode([{ path: "nodes[a].params.x", message: "m" }, { path: "deck", message: "d" }])).toEqual({ a: ["m"] });
    expect(ops.importProblem([])).toMatch(/object/);
    expect(ops.importProblem({ nodes: [] })).toMatch(/edges/);
    expect(ops.importProblem(doc())).toBeNull();
  });
});
