// Side panels of the editor: the plate map, the workflow's parameters, version history with
// restore and diff, and the keyboard help.
import { useEffect, useRef, useState } from "react";
import * as api from "./api.js";
import { helpRows } from "./keymap.js";
import { formatWhen } from "./when.js";

// --- Plate map: wells chosen on the labware's real grid (click, shift/ctrl-click, drag) ----

export function PlateMap({ labware, chosen, onChange, testid, fill = {} }) {
  // The drag lives in a ref as well, so that a quick click (its mouseup arriving before React
  // has re-rendered) is never lost; the state only draws the box.
  const dragging = useRef(null); // {from, to, add}
  const [drag, setDrag] = useState(null);
  const rows = labware.rows;
  const columns = labware.wells; // Opentrons' ordering: column by column
  const where = {};
  columns.forEach((column, c) => column.forEach((w) => { where[w] = [rows.indexOf(w.match(/^[A-Z]+/)[0]), c]; }));
  const boxOf = (d) => (w) => {
    if (!d) return false;
    const [r, c] = where[w]; const [r1, c1] = where[d.from]; const [r2, c2] = where[d.to];
    return r >= Math.min(r1, r2) && r <= Math.max(r1, r2) && c >= Math.min(c1, c2) && c <= Math.max(c1, c2);
  };
  const inBox = boxOf(drag);
  const order = (list) => columns.flat().filter((w) => list.includes(w)).sort(
    (a, b) => where[a][0] - where[b][0] || where[a][1] - where[b][1]); // row by row, as people read
  const move = (d) => { dragging.current = d; setDrag(d); };
  const finish = useRef(null);
  useEffect(() => {  // the latest choice, for the mouseup that ends a drag
    finish.current = () => {
      const d = dragging.current;
      if (!d) return;
      move(null);
      const box = columns.flat().filter(boxOf(d));
      const single = box.length === 1 && d.from === d.to;
      let next = box;
      if (d.add) next = single && chosen.includes(box[0]) ? chosen.filter((w) => w !== box[0]) : [...new Set([...chosen, ...box])];
      onChange(order(next));
    };
  });
  useEffect(() => {
    const up = () => finish.current();
    window.addEventListener("mouseup", up);
    return () => window.removeEventListener("mouseup", up);
  }, []);
  const grid = rows.map((row) => columns.map((column) => column.find((w) => w.match(/^[A-Z]+/)[0] === row)));
  return (
    <div className="plate-map" data-testid={`${testid}-plate`} role="grid" aria-label={`Wells of ${labware.display_name}`}
         style={{ gridTemplateColumns: `repeat(${columns.length}, 1fr)` }}>
      {grid.flat().map((w, i) => (w ? (
        <button type="button" key={w} role="gridcell" aria-label={w} aria-selected={chosen.includes(w)}
                data-testid={`${testid}-well-${w}`} title={fill[w] ? `${w}: ${fill[w].title}` : w}
                data-volume={fill[w] ? Math.round(fill[w].total * 1000) / 1000 : 0}
                style={fill[w] ? { background: fill[w].color } : undefined}
                className={`well${chosen.includes(w) ? " chosen" : ""}${inBox(w) ? " boxed" : ""}${fill[w] ? " filled" : ""}`}
                onMouseDown={(e) => { e.preventDefault(); move({ from: w, to: w, add: e.shiftKey || e.ctrlKey || e.metaKey }); }}
                onMouseEnter={() => dragging.current && move({ ...dragging.current, to: w })}
                onMouseUp={() => finish.current()}
                onKeyDown={(e) => {
                  if (e.key !== " " && e.key !== "Enter") return;
                  e.preventDefault();
                  onChange(order(chosen.includes(w) ? chosen.filter((x) => x !== w) : [...chosen, w]));
                }}>
          {labware.wells.length <= 24 || w.length === 2 && w.endsWith("1") ? w : ""}
        </button>) : <span key={`gap${i}`} />))}
    </div>
  );
}

// --- The workflow: name, description and run parameters -------------------------------------

const PARAMETER_TYPES = ["number", "integer", "string", "boolean"];

function numberOrNothing(text) {
  return text.trim() === "" || Number.isNaN(Number(text)) ? undefined : Number(text);
}

export function WorkflowPanel({ doc, change, errors }) {
  const [newName, setNewName] = useState("");
  const parameters = doc.parameters || {};
  const edit = (name, fn) => change((d) => {
    d.parameters = d.parameters || {};
    fn(d.parameters[name], d.parameters);
    return d;
  });
  const set = (spec, key, value) => { if (value === undefined || value === "") delete spec[key]; else spec[key] = value; };
  const add = () => {
    const name = newName.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || parameters[name]) return;
    change((d) => { d.parameters = { ...(d.parameters || {}), [name]: { type: "number" } }; return d; });
    setNewName("");
  };
  return (
    <section className="workflow-panel" data-testid="workflow-panel">
      <h3>Workflow</h3>
      <label>Description
        <textarea data-testid="workflow-description" rows={3} value={doc.description || ""}
                  onChange={(e) => { const value = e.target.value; change((d) => { if (value) d.description = value; else delete d.description; return d; }); }} />
      </label>
      <h4>Run parameters</h4>
      {Object.entries(parameters).map(([name, spec]) => {
        const problems = errors.filter((e) => e.path === `parameters.${name}` || e.path.startsWith(`parameters.${name}.`));
        const numeric = spec.type === "number" || spec.type === "integer";
        return (
          <fieldset key={name} className="parameter" data-testid={`parameter-${name}`}>
            <legend>{name}
              <button type="button" className="link" aria-label={`Remove parameter ${name}`}
                      onClick={() => change((d) => { delete d.parameters[name]; return d; })}>remove</button></legend>
            <label>Type
              <select data-testid={`parameter-${name}-type`} value={spec.type} onChange={(e) => edit(name, (p) => { p.type = e.target.value; })}>
                {PARAMETER_TYPES.map((t) => <option key={t}>{t}</option>)}
              </select></label>
            <label>Default
              {spec.type === "boolean"
                ? <input type="checkbox" data-testid={`parameter-${name}-default`} checked={!!spec.default}
                         onChange={(e) => edit(name, (p) => { p.default = e.target.checked; })} />
                : <input data-testid={`parameter-${name}-default`} value={spec.default ?? ""}
                         onChange={(e) => { const raw = e.target.value; edit(name, (p) => set(p, "default", numeric ? numberOrNothing(raw) ?? (raw || undefined) : raw)); }} />}
            </label>
            {numeric && <>
              <label>Minimum <input data-testid={`parameter-${name}-minimum`} value={spec.minimum ?? ""}
                                    onChange={(e) => { const raw = e.target.value; edit(name, (p) => set(p, "minimum", numberOrNothing(raw))); }} /></label>
              <label>Maximum <input data-testid={`parameter-${name}-maximum`} value={spec.maximum ?? ""}
                                    onChange={(e) => { const raw = e.target.value; edit(name, (p) => set(p, "maximum", numberOrNothing(raw))); }} /></label>
            </>}
            {problems.length > 0 && <div className="field-error">{problems.map((p) => p.message).join("; ")}</div>}
          </fieldset>
        );
      })}
      <div className="add-parameter">
        <input aria-label="New parameter name" placeholder="new parameter" data-testid="parameter-new-name" value={newName}
               onChange={(e) => setNewName(e.target.value)} onKeyDown={(e) => e.key === "Enter" && add()} />
        <button type="button" data-testid="parameter-add" onClick={add}>Add parameter</button>
      </div>
    </section>
  );
}

// --- Version history: restore, and a readable diff of two versions --------------------------

export function diffDocuments(before, after) {
  const lines = [];
  const index = (doc) => Object.fromEntries((doc.nodes || []).map((n) => [n.id, n]));
  const a = index(before); const b = index(after);
  Object.keys(b).filter((id) => !a[id]).forEach((id) => lines.push({ kind: "added", text: `node ${id} (${b[id].type}) added` }));
  Object.keys(a).filter((id) => !b[id]).forEach((id) => lines.push({ kind: "removed", text: `node ${id} (${a[id].type}) removed` }));
  Object.keys(a).filter((id) => b[id]).forEach((id) => {
    const p = a[id].params || {}; const q = b[id].params || {};
    [...new Set([...Object.keys(p), ...Object.keys(q)])].forEach((key) => {
      if (JSON.stringify(p[key]) !== JSON.stringify(q[key])) {
        lines.push({ kind: "changed", text: `${id}.${key}: ${JSON.stringify(p[key]) ?? "—"} → ${JSON.stringify(q[key]) ?? "—"}` });
      }
    });
    ["label", "retries", "retry_delay_s", "timeout_s", "disabled"].forEach((key) => {
      if (JSON.stringify(a[id][key]) !== JSON.stringify(b[id][key])) {
        lines.push({ kind: "changed", text: `${id} ${key}: ${JSON.stringify(a[id][key]) ?? "—"} → ${JSON.stringify(b[id][key]) ?? "—"}` });
      }
    });
  });
  const edgeKey = (e) => `${e.source} → ${e.target}${e.when ? ` when ${e.when}` : ""}`;
  const ea = new Set((before.edges || []).map(edgeKey)); const eb = new Set((after.edges || []).map(edgeKey));
  eb.forEach((e) => !ea.has(e) && lines.push({ kind: "added", text: `edge ${e} added` }));
  ea.forEach((e) => !eb.has(e) && lines.push({ kind: "removed", text: `edge ${e} removed` }));
  ["name", "description", "robot", "deck", "parameters"].forEach((key) => {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) lines.push({ kind: "changed", text: `${key} changed` });
  });
  return lines;
}

export function HistoryPanel({ workflowId, version, onRestored, dirty }) {
  const [versions, setVersions] = useState([]);
  const [pair, setPair] = useState({ from: null, to: null });
  const [diff, setDiff] = useState(null);
  const cache = useRef({});
  useEffect(() => {
    api.versions(workflowId).then((found) => {
      const list = [...found].sort((x, y) => y.number - x.number); // newest first
      setVersions(list);
      if (list.length >= 2) setPair({ from: list[1].number, to: list[0].number });
    });
  }, [workflowId, version]);
  const documentOf = async (n) => {
    if (!cache.current[n]) {
      cache.current[n] = api.version(workflowId, n).then((v) => v.document);
    }
    return cache.current[n];
  };
  const compare = async () => {
    if (pair.from == null || pair.to == null) return;
    setDiff(diffDocuments(await documentOf(pair.from), await documentOf(pair.to)));
  };
  const restore = async (n) => {
    if (dirty && !window.confirm(`Discard your unsaved changes and restore version ${n}?`)) return;
    const response = await api.restoreVersion(workflowId, n);
    if (response.ok) onRestored(await response.json(), n);
  };
  const numbers = versions.map((v) => v.number);
  return (
    <section className="history-panel" data-testid="history-panel">
      <h3>Versions</h3>
      <ol className="versions">
        {versions.map((v) => (
          <li key={v.number} data-testid={`version-${v.number}`}>
            <strong>v{v.number}</strong> {v.message || <em>no message</em>}
            <small> · {v.author || ""} {v.created_at ? formatWhen(v.created_at) : ""}</small>
            {v.number !== version && <button type="button" className="link" data-testid={`restore-${v.number}`}
                                              aria-label={`Restore version ${v.number}`} onClick={() => restore(v.number)}>restore</button>}
          </li>
        ))}
      </ol>
      {numbers.length >= 2 && (
        <div className="diff-form">
          Compare
          <select aria-label="From version" data-testid="diff-from" value={pair.from ?? ""} onChange={(e) => setPair({ ...pair, from: Number(e.target.value) })}>
            {numbers.map((n) => <option key={n} value={n}>v{n}</option>)}
          </select>
          with
          <select aria-label="To version" data-testid="diff-to" value={pair.to ?? ""} onChange={(e) => setPair({ ...pair, to: Number(e.target.value) })}>
            {numbers.map((n) => <option key={n} value={n}>v{n}</option>)}
          </select>
          <button type="button" data-testid="diff-button" onClick={compare}>Show changes</button>
        </div>
      )}
      {diff && (
        <ul className="diff" data-testid="diff">
          {diff.length === 0 && <li>No differences.</li>}
          {diff.map((line, i) => <li key={i} className={`diff-${line.kind}`}>{line.text}</li>)}
        </ul>
      )}
    </section>
  );
}

// --- Keyboard help ----------------------------------------------------------------------------

export function HelpOverlay({ onClose }) {
  return (
    <div className="dialog help" role="dialog" aria-label="Keyboard shortcuts" data-testid="help-overlay">
      <h3>Keyboard shortcuts</h3>
      <table><tbody>{helpRows().map(([keys, what]) => <tr key={keys}><td><kbd>{keys}</kbd></td><td>{what}</td></tr>)}</tbody></table>
      <button type="button" onClick={onClose}>Close</button>
    </div>
  );
}
