// Liquids: what the deck holds at the start, as in Protocol Designer. Define liquids (name,
// colour), choose wells on a labware's plate map and give them a liquid and a volume. The
// same plate maps show the wells after any step, from the dry run.
import { useState } from "react";
import { PlateMap } from "./panels.jsx";

// A well's look: its liquids' colours blended by volume, fuller wells more opaque.
export function wellFill(mix, liquids, capacity) {
  const total = Object.values(mix || {}).reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  let r = 0; let g = 0; let b = 0;
  Object.entries(mix).forEach(([id, volume]) => {
    const hex = (liquids.find((l) => l.id === id) || {}).color || "#888888";
    r += parseInt(hex.slice(1, 3), 16) * volume / total;
    g += parseInt(hex.slice(3, 5), 16) * volume / total;
    b += parseInt(hex.slice(5, 7), 16) * volume / total;
  });
  const alpha = 0.35 + 0.65 * Math.min(1, total / (capacity || total));
  const names = Object.entries(mix).map(([id, v]) => `${Math.round(v * 10) / 10} µL ${(liquids.find((l) => l.id === id) || {}).name || id}`);
  return { color: `rgba(${r | 0}, ${g | 0}, ${b | 0}, ${alpha.toFixed(2)})`, title: names.join(" + "), total };
}

export function fillsOf(wells, liquids, capacity) {
  const out = {};
  Object.entries(wells || {}).forEach(([w, mix]) => { const f = wellFill(mix, liquids, capacity); if (f) out[w] = f; });
  return out;
}

function deckLabware(doc) {
  const deck = doc.deck || {};
  return [...(deck.labware || []), ...(deck.modules || []).map((m) => m.labware).filter(Boolean)];
}

function startingWells(item) {
  return Object.fromEntries(Object.entries(item.contents || {}).map(([w, a]) => [w, { [a.liquid]: a.volume }]));
}

export function LiquidsPanel({ doc, change, errors, defs, dry }) {
  const deck = doc.deck || {};
  const liquids = deck.liquids || [];
  const plates = deckLabware(doc).filter((l) => {
    const def = defs && defs.labware.find((d) => d.load_name === l.load_name);
    return def && !def.is_tiprack && def.wells.length > 0;
  });
  const [labwareId, setLabwareId] = useState(null);
  const [chosen, setChosen] = useState([]);
  const [liquid, setLiquid] = useState("");
  const [volume, setVolume] = useState(100);
  const [after, setAfter] = useState(""); // "" = the start; else a node id of the dry run
  const current = plates.find((p) => p.id === labwareId) || plates[0];
  const def = current && defs.labware.find((d) => d.load_name === current.load_name);
  const editLiquids = (fn) => change((d) => { d.deck = d.deck || {}; d.deck.liquids = d.deck.liquids || []; fn(d.deck.liquids, d); return d; });
  const editContents = (fn) => change((d) => {
    const item = deckLabware(d).find((l) => l.id === current.id);
    item.contents = item.contents || {};
    fn(item.contents);
    if (!Object.keys(item.contents).length) delete item.contents;
    return d;
  });
  const shown = after && dry.nodes && dry.nodes[after] && dry.nodes[after].liquids
    ? (dry.nodes[after].liquids[current?.id] || {}) : (current ? startingWells(current) : {});
  const mine = errors.filter((e) => e.path.startsWith("deck.liquids") || e.path.includes(".contents"));
  const reached = Object.entries(dry.nodes || {}).filter(([, n]) => n.liquids);
  return (
    <div className="liquids-panel" data-testid="liquids-panel">
      <h4>Liquids</h4>
      {liquids.map((l, i) => (
        <div className="liquid-row" key={l.id} data-testid={`liquid-${l.id}`}>
          <input type="color" aria-label={`Colour of ${l.name}`} value={l.color || "#3b82f6"}
                 onChange={(e) => editLiquids((ls) => { ls[i].color = e.target.value; })} />
          <input aria-label="Liquid name" data-testid={`liquid-name-${l.id}`} value={l.name}
                 onChange={(e) => editLiquids((ls) => { ls[i].name = e.target.value; })} />
          <button type="button" aria-label={`Remove ${l.name}`} onClick={() => editLiquids((ls, d) => {
            ls.splice(i, 1);
            deckLabware(d).forEach((lw) => Object.keys(lw.contents || {}).forEach((w) => { if (lw.contents[w].liquid === l.id) delete lw.contents[w]; }));
          })}>×</button>
        </div>))}
      <button type="button" data-testid="liquid-add" onClick={() => editLiquids((ls) => {
        let n = ls.length + 1;
        while (ls.some((l) => l.id === `liquid${n}`)) n += 1;
        ls.push({ id: `liquid${n}`, name: `Liquid ${n}`, color: ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"][n % 5] });
      })}>Add liquid</button>
      {mine.length > 0 && <div className="field-error" data-testid="liquid-errors">{mine.map((e) => e.message).join("; ")}</div>}
      {plates.length === 0 ? <p className="hint">Put a plate or reservoir on the deck first.</p> : (<>
        <h4>Wells</h4>
        <label>Labware <select data-testid="liquid-labware" value={current.id}
                               onChange={(e) => { setLabwareId(e.target.value); setChosen([]); }}>
          {plates.map((p) => <option key={p.id} value={p.id}>{p.id}</option>)}</select></label>
        <label>Show <select data-testid="liquid-after" value={after} onChange={(e) => setAfter(e.target.value)}>
          <option value="">at the start</option>
          {reached.map(([id]) => <option key={id} value={id}>after {id} (dry run)</option>)}</select></label>
        <PlateMap labware={def} chosen={after ? [] : chosen} onChange={after ? () => {} : setChosen} testid="liquid"
                  fill={fillsOf(shown, liquids, def.well_volume)} />
        {!after && (
          <div className="liquid-assign">
            <select data-testid="liquid-choice" value={liquid} onChange={(e) => setLiquid(e.target.value)}>
              <option value="">liquid…</option>
              {liquids.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}</select>
            <input type="number" min="0" step="any" aria-label="Volume per well (µL)" data-testid="liquid-volume"
                   value={volume} onChange={(e) => setVolume(e.target.value)} /> µL
            <button type="button" data-testid="liquid-assign" disabled={!liquid || !chosen.length || !(Number(volume) > 0)}
                    onClick={() => editContents((c) => chosen.forEach((w) => { c[w] = { liquid, volume: Number(volume) }; }))}>
              Fill {chosen.length} well{chosen.length === 1 ? "" : "s"}</button>
            <button type="button" data-testid="liquid-clear" disabled={!chosen.length}
                    onClick={() => editContents((c) => chosen.forEach((w) => { delete c[w]; }))}>Empty</button>
          </div>)}
      </>)}
    </div>
  );
}
