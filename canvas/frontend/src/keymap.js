// The editor's keyboard shortcuts: one table, read by the key handler and by the help overlay.
// `mod` is Ctrl (⌘ on a Mac). `typing`: the shortcut also works while a text field has focus
// (the others leave text fields their own undo, copy and paste).
export const KEYMAP = [
  { action: "save", keys: ["mod+s"], help: "save (with the version message)", typing: true },
  { action: "undo", keys: ["mod+z"], help: "undo" },
  { action: "redo", keys: ["mod+shift+z", "mod+y"], help: "redo" },
  { action: "copy", keys: ["mod+c"], help: "copy steps (also between two open workflows)", keepDefault: true },
  { action: "paste", keys: ["mod+v"], help: "paste steps" },
  { action: "duplicate", keys: ["mod+d"], help: "duplicate the selection" },
  { action: "group", keys: ["mod+g"], help: "group the selected steps" },
  { action: "find", keys: ["mod+k"], help: "go to a step by its id or label", typing: true },
  { action: "help", keys: ["?"], help: "this help" },
  { action: "close", keys: ["escape"], help: "close this help", typing: true },
];

// What the canvas and the forms do themselves, listed in the same help.
export const GESTURES = [
  ["Delete, Backspace", "delete the selected steps, edges, notes or group boxes"],
  ["Shift+click, Shift+drag", "select several steps"],
  ["drag a group's title", "move the group with its steps"],
  ["Enter on a palette item", "add that step after the selected one"],
  ["Shift+click or drag on a plate map", "add wells to the selection"],
];

// The key an event stands for, e.g. "mod+shift+z", "?", "escape".
export function keyOf(event) {
  const key = event.key.toLowerCase();
  if (!(event.ctrlKey || event.metaKey)) return key;
  return `mod+${event.shiftKey ? "shift+" : ""}${key}`;
}

export function actionFor(event, typing) {
  const key = keyOf(event);
  const entry = KEYMAP.find((k) => k.keys.includes(key));
  if (!entry || (typing && !entry.typing)) return null;
  return entry;
}

const LABELS = { mod: "Ctrl", shift: "Shift", escape: "Escape" };
export function label(key) {
  return key.split("+").map((part) => LABELS[part] || part.toUpperCase()).join("+");
}

// The rows of the help overlay: [keys, what they do].
export function helpRows() {
  return [...KEYMAP.map((k) => [k.keys.map(label).join(", "), k.help]), ...GESTURES];
}
