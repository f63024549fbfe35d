import { describe, expect, it } from "vitest";
import { KEYMAP, actionFor, helpRows, keyOf } from "./keymap.js";

const key = (k, mods = {}) => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, ...mods });

describe("the keymap", () => {
  it("reads Ctrl and ⌘ alike, with Shift", () => {
    expect(keyOf(key("Z", { ctrlKey: true, shiftKey: true }))).toBe("mod+shift+z");
    expect(keyOf(key("s", { metaKey: true }))).toBe("mod+s");
    expect(actionFor(key("y", { ctrlKey: true }), false).action).toBe("redo");
  });

  it("leaves text fields their own undo, but saves from them", () => {
    expect(actionFor(key("z", { ctrlKey: true }), true)).toBeNull();
    expect(actionFor(key("s", { ctrlKey: true }), true).action).toBe("save");
    expect(actionFor(key("?"), true)).toBeNull();
  });

  it("lists every shortcut in the help", () => {
    const rows = helpRows();
    KEYMAP.forEach((k) => expect(rows.some(([, what]) => what === k.help)).toBe(true));
    expect(rows.find(([, what]) => what === "redo")[0]).toBe("Ctrl+Shift+Z, Ctrl+Y");
  });
});
