// Undo and redo as a reducer: the document now, the ones before it and the ones undone.
import { useCallback, useReducer } from "react";

export const HISTORY = 200;

export function initialHistory(doc) {
  return { doc, past: [], future: [] };
}

// Actions: `edit` (a function given a copy of the document; it returns the new document, or
// null to change nothing), `undo`, `redo`, and `replace` (a document from elsewhere — a
// restored version — that can still be undone).
export function historyReducer(state, action) {
  switch (action.type) {
    case "edit": {
      const next = action.edit(structuredClone(state.doc));
      if (!next) return state;
      return { doc: next, past: [...state.past, state.doc].slice(-HISTORY), future: [] };
    }
    case "undo":
      if (!state.past.length) return state;
      return { doc: state.past[state.past.length - 1], past: state.past.slice(0, -1), future: [state.doc, ...state.future] };
    case "redo":
      if (!state.future.length) return state;
      return { doc: state.future[0], past: [...state.past, state.doc], future: state.future.slice(1) };
    case "replace":
      return { doc: action.doc, past: [...state.past, state.doc].slice(-HISTORY), future: [] };
    default:
      throw new Error(`unknown history action ${action.type}`);
  }
}

export function useHistory(doc) {
  const [state, dispatch] = useReducer(historyReducer, doc, initialHistory);
  const change = useCallback((edit) => dispatch({ type: "edit", edit }), []);
  const undo = useCallback(() => dispatch({ type: "undo" }), []);
  const redo = useCallback(() => dispatch({ type: "redo" }), []);
  const replace = useCallback((next) => dispatch({ type: "replace", doc: next }), []);
  return {
    doc: state.doc, change, undo, redo, replace,
    canUndo: state.past.length > 0, canRedo: state.future.length > 0,
  };
}
