import { describe, expect, it } from "vitest";
import { HISTORY, historyReducer, initialHistory } from "./history.js";

const rename = (name) => ({ type: "edit", edit: (d) => ({ ...d, name }) });

describe("undo and redo", () => {
  it("undoes and redoes edits, and a new edit forgets what was undone", () => {
    let s = initialHistory({ name: "a" });
    s = historyReducer(s, rename("b"));
    s = historyReducer(s, rename("c"));
    s = historyReducer(s, { type: "undo" });
    expect(s.doc.name).toBe("b");
    s = historyReducer(s, { type: "redo" });
    expect(s.doc.name).toBe("c");
    s = historyReducer(s, { type: "undo" });
    s = historyReducer(s, rename("d"));
    expect(s.future).toEqual([]);
    expect(historyReducer(s, { type: "redo" })).toBe(s);
  });

  it("changes nothing when an edit returns null, and never touches the document it was given", () => {
    const first = { name: "a", nodes: [] };
    let s = initialHistory(first);
    expect(historyReducer(s, { type: "edit", edit: () => null })).toBe(s);
    s = historyReducer(s, { type: "edit", edit: (d) => { d.nodes.push(1); return d; } });
    expect(first.nodes).toEqual([]);
    expect(s.doc.nodes).toEqual([1]);
  });

  it("keeps at most HISTORY steps, and a replaced document can be undone", () => {
    let s = initialHistory({ name: "0" });
    for (let i = 1; i <= HISTORY + 5; i += 1) s = historyReducer(s, rename(String(i)));
    expect(s.past.length).toBe(HISTORY);
    s = historyReducer(s, { type: "replace", doc: { name: "restored" } });
    s = historyReducer(s, { type: "undo" });
    expect(s.doc.name).toBe(String(HISTORY + 5));
  });
});
