// What the server says once per page (sdl_site/vocabulary.py): terminal and active states, and
// each node type's palette category and one-line summary template.
const element = typeof document !== "undefined" && document.getElementById("sdl-vocabulary");
export const VOCABULARY = element
  ? JSON.parse(element.textContent)
  : { runTerminal: [], runActive: [], nodeTerminal: [], nodeActive: [], nodeLooks: {} };

export const runEnded = (state) => VOCABULARY.runTerminal.includes(state);
export const nodeEnded = (state) => VOCABULARY.nodeTerminal.includes(state);
