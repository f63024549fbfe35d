// What the editor reads from the server while it is open: node types, Opentrons definitions,
// validation as you edit, and the states of a run of this workflow that is going.
import { useEffect, useState } from "react";
import * as api from "./api.js";
import { LiveRun } from "./live.js";

export function useNodeTypes() {
  const [groups, setGroups] = useState([]);
  useEffect(() => { api.nodeTypes().then(setGroups, () => {}); }, []);
  return groups;
}

// Opentrons' definitions for the deck panel and plate maps (one fetch per robot type).
export function useDefinitions(robotType) {
  const [defs, setDefs] = useState({ robotType: "", defs: null });
  useEffect(() => {
    if (!robotType) return undefined;
    let gone = false;
    api.definitions(robotType).then((found) => !gone && setDefs({ robotType, defs: found }), () => {});
    return () => { gone = true; };
  }, [robotType]);
  return robotType && defs.robotType === robotType ? defs.defs : null;
}

// The server's own rules, run 350 ms after the last edit.
export function useValidation(doc) {
  const [report, setReport] = useState({ valid: true, errors: [] });
  useEffect(() => {
    const timer = setTimeout(() => {
      api.validate(doc)
        .then((r) => (r.ok ? r.json() : { valid: false, errors: [{ path: "", message: `validation failed (${r.status})` }] }))
        .then((next) => setReport((prev) => (sameJson(prev, next) ? prev : next)), () => {});
    }, 350);
    return () => clearTimeout(timer);
  }, [doc]);
  return report;
}

const ACTIVE = ["queued", "running", "paused"];

// An answer equal to the last keeps the last's identity, so nothing downstream redraws.
export function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// A run of this workflow that is going (looked for every 5 s), followed over its websocket:
// {id, state, nodes: {id: {state, attempts, error}}}, or null. `clear` forgets an ended one.
export function useLiveRun(workflowId) {
  const [live, setLive] = useState(null);
  useEffect(() => {
    if (!workflowId) return undefined;
    let gone = false;
    let following = null; // {id, socket}
    const look = () => api.recentRuns(workflowId).then((list) => {
      const active = list.find((r) => ACTIVE.includes(r.state));
      if (gone || !active || (following && following.id === active.id)) return;
      if (following) following.socket.close();
      const states = {};
      setLive({ id: active.id, state: active.state, nodes: {} });
      const socket = new LiveRun(`/ws/runs/${active.id}/`, {
        onEvent: (m) => {
          if (m.type === "node") {
            states[m.node_id] = { state: m.state, attempts: m.attempts ?? states[m.node_id]?.attempts, error: m.error || "" };
            setLive((r) => r && { ...r, nodes: { ...states } });
          } else if (m.type === "run") {
            setLive((r) => r && { ...r, state: m.state });
          }
        },
      });
      following = { id: active.id, socket };
    }, () => {});
    look();
    const timer = setInterval(look, 5000);
    return () => {
      gone = true;
      clearInterval(timer);
      if (following) following.socket.close();
    };
  }, [workflowId]);
  return [live, () => setLive(null)];
}
