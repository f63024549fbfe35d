// The side panel: a node's form generated from its JSON Schema, and an edge's condition.
import { useState } from "react";
import { PlateMap } from "./panels.jsx";
import { renameNode, ungroup, updateGroup } from "./docops.js";

function resolve(schema, defs) {
  let s = schema || {};
  if (s.$ref) s = { ...defs[s.$ref.split("/").pop()], ...s };
  if (s.anyOf) {
    const option = s.anyOf.find((o) => o.type !== "null") || {};
    s = { ...resolve(option, defs), default: s.default, title: s.title, description: s.description };
  }
  return s;
}

// The references a field of `nodeId` may use: the run parameters, and the outputs of the steps
// upstream of it (including `nodeId` itself when `withSelf`, for an edge's condition).
function outputKeys(node, types) {
  if (node.type === "data.record") return Object.keys((node.params || {}).values || {});
  if (node.type === "control.input") return [...((node.params || {}).fields || []).map((f) => f.name), "answered_by"];
  return Object.keys((types[node.type] || {}).outputs || {});
}

export function referencesFor(doc, nodeId, types, withSelf = false) {
  const parents = {};
  doc.edges.forEach((e) => { (parents[e.target] = parents[e.target] || []).push(e.source); });
  const seen = new Set(withSelf ? [nodeId] : []);
  const stack = [...(parents[nodeId] || [])];
  while (stack.length) {
    const n = stack.pop();
    if (!seen.has(n)) { seen.add(n); stack.push(...(parents[n] || [])); }
  }
  const refs = Object.keys(doc.parameters || {}).map((p) => ({ label: `run parameter ${p}`, value: `{{ params.${p} }}` }));
  doc.nodes.filter((n) => seen.has(n.id)).forEach((n) => outputKeys(n, types).forEach((k) => {
    refs.push({ label: `${n.id} → ${k}`, value: `{{ nodes.${n.id}.output.${k} }}` });
  }));
  return refs;
}

function RefPicker({ refs, onPick, testid }) {
  if (!refs.length) return null;
  return (
    <select className="ref-picker" data-testid={testid} value="" title="Use a run parameter or an upstream output"
            onChange={(e) => e.target.value && onPick(e.target.value)}>
      <option value="">{"{{ }}"}</option>
      {refs.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
    </select>
  );
}

// What the server's schema says of a field: a short description is its unit ("µL"), a longer
// one its help, with the bounds it allows.
function fieldHelp(s) {
  const description = s.description || "";
  const unit = description && description.length <= 6 ? description : "";
  const low = s.minimum ?? s.exclusiveMinimum;
  const high = s.maximum ?? s.exclusiveMaximum;
  const bounds = low !== undefined && high !== undefined ? `${s.exclusiveMinimum !== undefined ? "more than" : "from"} ${low} to ${high}`
    : low !== undefined ? `at least ${low}` : high !== undefined ? `at most ${high}` : "";
  const text = [unit ? "" : description, bounds].filter(Boolean).join(" · ");
  return { unit, text };
}

function deckIds(doc, kind) {
  const deck = doc.deck || {};
  if (kind === "pipette") return (deck.pipettes || []).map((p) => p.id);
  if (kind === "module") return (deck.modules || []).map((m) => m.id);
  const labware = (deck.labware || []).map((l) => l.id);
  (deck.modules || []).forEach((m) => m.labware && labware.push(m.labware.id));
  return labware;
}

function asNumberOrReference(text) {
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}

function Errors({ errors, prefix, name }) {
  const mine = errors.filter((e) => e.path === prefix || e.path.startsWith(`${prefix}.`) || e.path.startsWith(`${prefix}[`));
  if (!mine.length) return null;
  return <div className="field-error" data-testid={`field-error-${name}`}>{mine.map((e) => e.message).join("; ")}</div>;
}

function labwareDef(doc, defs, id) {
  if (!defs || !id) return null;
  const deck = doc.deck || {};
  const placed = (deck.labware || []).find((l) => l.id === id)
    || (deck.modules || []).map((m) => m.labware).find((l) => l && l.id === id);
  return placed ? defs.labware.find((l) => l.load_name === placed.load_name) || null : null;
}

// A location: labware from the deck, wells clicked (or dragged) on its plate map or typed.
function WellsField({ value, onChange, doc, defs, testid }) {
  const v = value && typeof value === "object" ? value : {};
  const wells = v.wells || (v.well ? [v.well] : []);
  const update = (lab, list) => {
    if (!lab && !list.length) return onChange(undefined);
    onChange({ labware: lab, wells: list });
  };
  const def = labwareDef(doc, defs, v.labware);
  return (
    <span className="wells-field" data-testid={testid}>
      <select aria-label="labware" data-testid={`${testid}-labware`} value={v.labware || ""}
              onChange={(e) => update(e.target.value, wells)}>
        <option value="">labware…</option>
        {deckIds(doc, "labware").map((id) => <option key={id} value={id}>{id}</option>)}
      </select>
      <input aria-label="wells" data-testid={`${testid}-wells`} placeholder="A1, A2" key={wells.join(",")}
             defaultValue={wells.join(", ")}
             onBlur={(e) => update(v.labware || "", e.target.value.split(/[\s,]+/).filter(Boolean))} />
      {def && def.wells.length > 0 && <PlateMap labware={def} chosen={wells} testid={testid}
                                                onChange={(list) => update(v.labware, list)} />}
    </span>
  );
}

function ParamField({ name, schema, defs, kind, value, doc, deckDefs, onChange, refs = [] }) {
  const s = resolve(schema, defs);
  const testid = `field-${name}`;
  if (kind === "location") return <WellsField value={value} onChange={onChange} doc={doc} defs={deckDefs} testid={testid} />;
  if (kind) {
    return (
      <select data-testid={testid} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{kind}…</option>
        {deckIds(doc, kind).map((id) => <option key={id} value={id}>{id}</option>)}
      </select>
    );
  }
  if (s.enum) {
    return (
      <select data-testid={testid} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{s.default !== undefined && s.default !== null ? `default (${s.default})` : "choose…"}</option>
        {s.enum.map((option) => <option key={option} value={option}>{option}</option>)}
      </select>
    );
  }
  if (s.type === "boolean") {
    return <input type="checkbox" data-testid={testid} checked={value ?? s.default ?? false} onChange={(e) => onChange(e.target.checked)} />;
  }
  if (s.type === "number" || s.type === "integer") {
    return (<span className="with-ref">
      <input data-testid={testid} inputMode="decimal" placeholder={s.default !== undefined && s.default !== null ? String(s.default) : ""}
             value={value ?? ""} onChange={(e) => onChange(e.target.value === "" ? undefined : asNumberOrReference(e.target.value))} />
      <RefPicker refs={refs} onPick={onChange} testid={`ref-${name}`} />
    </span>);
  }
  if (s.type === "string") {
    return (<span className="with-ref">
      <input data-testid={testid} value={value ?? ""} placeholder={s.default ?? ""}
             onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />
      <RefPicker refs={refs} onPick={onChange} testid={`ref-${name}`} />
    </span>);
  }
  const pair = s.type === "array" && (s.prefixItems || []).length === 2
    && s.prefixItems.every((p) => ["number", "integer"].includes(resolve(p, defs).type));
  if (pair) return <PairField value={value} onChange={onChange} testid={testid} />;
  if (s.type === "object" && !s.properties) return <KeyValueField value={value} onChange={onChange} testid={testid} refs={refs} />;
  return <JsonField value={value} onChange={onChange} testid={testid} />;
}

// Two numbers, e.g. a mix as (repetitions, µL): two inputs instead of JSON.
function PairField({ value, onChange, testid }) {
  const [first, second] = Array.isArray(value) ? value : ["", ""];
  const set = (i, text) => {
    const next = [first, second];
    next[i] = text === "" ? "" : asNumberOrReference(text);
    onChange(next.every((v) => v === "") ? undefined : next);
  };
  return (
    <span className="pair" data-testid={testid}>
      <input data-testid={`${testid}-0`} inputMode="decimal" aria-label="repetitions" placeholder="times"
             value={first ?? ""} onChange={(e) => set(0, e.target.value)} /> ×
      <input data-testid={`${testid}-1`} inputMode="decimal" aria-label="volume" placeholder="µL"
             value={second ?? ""} onChange={(e) => set(1, e.target.value)} /> µL
    </span>
  );
}

// Named values (e.g. Record data): a table of name and value; a value is a number, true/false,
// a reference ({{ … }}) or text.
function valueOf(text) {
  if (text === "true" || text === "false") return text === "true";
  return asNumberOrReference(text);
}

function KeyValueField({ value, onChange, testid, refs }) {
  const rows = Object.entries(value && typeof value === "object" ? value : {});
  const [draft, setDraft] = useState(rows.length ? null : ["", ""]);
  const shown = draft ? [...rows, draft] : rows;
  const write = (next) => {
    const clean = next.filter(([k]) => k.trim() !== "");
    onChange(clean.length ? Object.fromEntries(clean.map(([k, v]) => [k.trim(), v])) : undefined);
  };
  const edit = (i, key, text) => {
    const next = shown.map((r, j) => (j === i ? [key, text === null ? r[1] : valueOf(text)] : r));
    if (draft && i === shown.length - 1) {
      if (!key.trim()) { setDraft([key, text === null ? draft[1] : text]); return; }
      setDraft(null);
    }
    write(next);
  };
  return (
    <table className="key-values" data-testid={testid}>
      <tbody>{shown.map(([k, v], i) => (
        <tr key={i}>
          <td><input aria-label="name" data-testid={`${testid}-key-${i}`} value={k} onChange={(e) => edit(i, e.target.value, null)} /></td>
          <td className="with-ref"><input aria-label="value" data-testid={`${testid}-value-${i}`} value={v === undefined || v === null ? "" : String(v)}
                     onChange={(e) => edit(i, k, e.target.value)} />
            <RefPicker refs={refs} onPick={(r) => edit(i, k || `value${i + 1}`, r)} testid={`${testid}-ref-${i}`} /></td>
          <td><button type="button" aria-label={`Remove ${k}`} onClick={() => write(shown.filter((_, j) => j !== i))}>×</button></td>
        </tr>))}</tbody>
      <tfoot><tr><td colSpan={3}><button type="button" data-testid={`${testid}-add`}
        onClick={() => setDraft(["", ""])}>Add a value</button></td></tr></tfoot>
    </table>
  );
}

// Free JSON: kept as typed, and shown in error (not silently dropped) while it does not parse.
function JsonField({ value, onChange, testid }) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value));
  const [problem, setProblem] = useState("");
  return (<>
    <textarea data-testid={testid} rows={3} value={text} className={problem ? "invalid" : ""}
              onChange={(e) => {
                setText(e.target.value);
                try {
                  onChange(e.target.value.trim() ? JSON.parse(e.target.value) : undefined);
                  setProblem("");
                } catch (error) {
                  setProblem(`not valid JSON yet: ${error.message}`);
                }
              }} />
    {problem && <div className="field-error" data-testid={`${testid}-json-error`}>{problem}</div>}
  </>);
}

function IdField({ node, doc, change }) {
  const [problem, setProblem] = useState("");
  return (
    <label>Id <input data-testid="node-id" key={node.id} defaultValue={node.id}
                     onBlur={(e) => {
                       const to = e.target.value.trim();
                       if (to === node.id) return setProblem("");
                       if (!/^[A-Za-z0-9_-]{1,64}$/.test(to)) return setProblem("letters, digits, _ and - only (at most 64)");
                       if (doc.nodes.some((n) => n.id === to)) return setProblem(`${to} is taken`);
                       setProblem("");
                       change((d) => renameNode(d, node.id, to), { select: to });
                     }} />
      {problem && <div className="field-error" data-testid="field-error-id">{problem}</div>}
    </label>
  );
}

export function NodeForm({ node, spec, doc, errors, change, deckDefs, types = {} }) {
  const prefix = `nodes[${node.id}]`;
  const set = (key, value) => change((d) => {
    const n = d.nodes.find((x) => x.id === node.id);
    if (value === undefined || value === "") delete n[key]; else n[key] = value;
    return d;
  });
  const setParam = (key, value) => change((d) => {
    const n = d.nodes.find((x) => x.id === node.id);
    if (value === undefined) delete n.params[key]; else n.params[key] = value;
    return d;
  });
  const schema = spec ? spec.schema : { properties: {} };
  const defs = schema.$defs || {};
  return (
    <form className="node-form" data-testid="node-form" onSubmit={(e) => e.preventDefault()}>
      <h3>{node.id} <small>{spec ? spec.title : node.type}</small></h3>
      <IdField node={node} doc={doc} change={change} />
      <label>Label <input data-testid="node-label" value={node.label || ""} onChange={(e) => set("label", e.target.value)} /></label>
      {Object.entries(schema.properties || {}).map(([name, property]) => {
        const help = fieldHelp(resolve(property, defs));
        const refs = referencesFor(doc, node.id, types);
        return (
          <label key={name}>
            {property.title || name}{help.unit ? ` (${help.unit})` : ""}{(schema.required || []).includes(name) ? " *" : ""}
            <ParamField name={name} schema={property} defs={defs} kind={spec?.deck_fields?.[name]}
                        value={node.params[name]} doc={doc} deckDefs={deckDefs} onChange={(v) => setParam(name, v)}
                        refs={refs} />
            {help.text && <small className="field-help" data-testid={`help-${name}`}>{help.text}</small>}
            <Errors errors={errors} prefix={`${prefix}.params.${name}`} name={name} />
          </label>
        );
      })}
      <fieldset>
        <legend>When it fails</legend>
        <label>Retries <input data-testid="node-retries" inputMode="numeric" value={node.retries ?? ""}
                              onChange={(e) => set("retries", e.target.value === "" ? undefined : Number(e.target.value))} /></label>
        <label>Retry delay (s) <input data-testid="node-retry-delay" inputMode="decimal" value={node.retry_delay_s ?? ""}
                                      onChange={(e) => set("retry_delay_s", e.target.value === "" ? undefined : Number(e.target.value))} /></label>
        <label>Timeout (s) <input data-testid="node-timeout" inputMode="decimal" value={node.timeout_s ?? ""}
                                  onChange={(e) => set("timeout_s", e.target.value === "" ? undefined : Number(e.target.value))} /></label>
        <label className="check"><input type="checkbox" data-testid="node-disabled" checked={!!node.disabled}
                                        onChange={(e) => set("disabled", e.target.checked || undefined)} /> Disabled (skipped)</label>
        <Errors errors={errors.filter((e) => !e.path.includes(".params"))} prefix={prefix} name="node" />
      </fieldset>
    </form>
  );
}

const WHEN = /^\s*(\{\{.*?\}\})\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$/;

// An edge's condition: a reference (picked), an operator and a value, written as `when`.
export function EdgeForm({ index, edge, errors, change, doc, types = {} }) {
  const match = WHEN.exec(edge.when || "") || [];
  const [ref, setRef] = useState(match[1] || "");
  const [op, setOp] = useState(match[2] || "==");
  const [literal, setLiteral] = useState(match[3] || "");
  const refs = doc ? referencesFor(doc, edge.source, types, true) : [];
  const write = (r, o, l) => change((d) => {
    if (!r) { delete d.edges[index].when; return d; }
    let value = l.trim();
    try { JSON.parse(value); } catch { value = JSON.stringify(value); } // a word is a string
    d.edges[index].when = `${r} ${o} ${value === '""' ? "true" : value}`;
    return d;
  });
  return (
    <form className="node-form" data-testid="edge-form" onSubmit={(e) => e.preventDefault()}>
      <h3>{edge.source} → {edge.target}</h3>
      <p className="hint">Run {edge.target} only when:</p>
      <select data-testid="edge-when-ref" value={ref} onChange={(e) => { setRef(e.target.value); write(e.target.value, op, literal); }}>
        <option value="">always (no condition)</option>
        {refs.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
        {ref && !refs.some((r) => r.value === ref) && <option value={ref}>{ref}</option>}
      </select>
      <select data-testid="edge-when-op" value={op} disabled={!ref} onChange={(e) => { setOp(e.target.value); write(ref, e.target.value, literal); }}>
        {["==", "!=", "<", "<=", ">", ">="].map((o) => <option key={o}>{o}</option>)}
      </select>
      <input data-testid="edge-when-value" placeholder="true, 7.5, ready" value={literal} disabled={!ref}
             onChange={(e) => { setLiteral(e.target.value); write(ref, op, e.target.value); }} />
      <div className="hint" data-testid="edge-when">{edge.when || ""}</div>
      <Errors errors={errors} prefix={`edges[${index}]`} name="when" />
    </form>
  );
}

// A group box: its title, its steps, and ungrouping (the steps stay).
export function GroupForm({ group, doc, change, onGoTo }) {
  const labels = Object.fromEntries(doc.nodes.map((n) => [n.id, n.label || n.id]));
  return (
    <section className="node-form" data-testid="group-form">
      <h3>Group</h3>
      <label>Title <input data-testid="group-title-input" defaultValue={group.title} maxLength={200}
                          onBlur={(e) => { const title = e.target.value.trim() || group.title;
                            if (title !== group.title) change((d) => updateGroup(d, group.id, { title })); }} /></label>
      <p className="hint">Drag the title on the canvas to move the group with its steps; Delete removes the box, not the steps.</p>
      <ul>{group.nodes.map((id) => (
        <li key={id}><button type="button" className="link" onClick={() => onGoTo(id)}>{labels[id] || id}</button></li>))}
      </ul>
      <button type="button" data-testid="ungroup-button" onClick={() => change((d) => ungroup(d, [group.id]))}>Ungroup</button>
    </section>
  );
}
