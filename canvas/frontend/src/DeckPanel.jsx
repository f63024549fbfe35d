// The deck: robot type and API level, the deck drawn to scale (DeckMap), and for the chosen
// slot its labware (searched among Opentrons' own, filtered by robot, slot and pipettes) or
// module; pipettes per mount with their tip racks chosen by click; the Flex's trash bin.
import { useState } from "react";
import { DeckMap } from "./DeckMap.jsx";

function slug(text) {
  return text.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40) || "item";
}

function uniqueId(deck, base) {
  const taken = new Set([...(deck.labware || []), ...(deck.pipettes || []), ...(deck.modules || [])]
    .flatMap((x) => [x.id, x.labware && x.labware.id]).filter(Boolean));
  let id = base;
  let i = 2;
  while (taken.has(id)) { id = `${base}${i}`; i += 1; }
  return id;
}

function baseId(def) {
  return def.is_tiprack ? "tips" : slug(def.category || "labware");
}

// What stands on each kind of module (Opentrons' display categories).
const ON_MODULE = {
  temperatureModuleType: ["aluminumBlock", "adapter", "wellPlate"],
  magneticModuleType: ["wellPlate"],
  thermocyclerModuleType: ["wellPlate"],
  heaterShakerModuleType: ["adapter", "wellPlate"],
  magneticBlockType: ["wellPlate"],
  absorbanceReaderType: ["wellPlate"],
};

// Whether a pipette (its definition) takes the tips of a tip rack (a labware definition).
function takesTips(pipette, rack) {
  return Boolean(pipette && rack) && pipette.tip_volumes.includes(Math.round(rack.well_volume));
}

const labwareDef = (defs, loadName) => defs.labware.find((d) => d.load_name === loadName);

// The labware a slot is offered: for this robot, for what stands there, and tip racks that
// fit a pipette on the deck (all tip racks while there is none).
export function offeredLabware(defs, { robot, moduleType, pipettes }) {
  const tipVolumes = new Set(pipettes.flatMap((p) => (defs.pipettes.find((d) => d.name === p.instrument) || {}).tip_volumes || []));
  return defs.labware.filter((l) => l.offered && l.robots.includes(robot)
    && (!moduleType || (ON_MODULE[moduleType] || []).includes(l.category))
    && (!l.is_tiprack || !tipVolumes.size || tipVolumes.has(Math.round(l.well_volume))));
}

function LabwarePicker({ defs, offered, value, onChoose, testid }) {
  const [query, setQuery] = useState("");
  const [everything, setEverything] = useState(false);
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const pool = everything ? defs.labware : offered;
  const found = pool.filter((l) => words.every((w) => `${l.display_name} ${l.load_name} ${l.category}`.toLowerCase().includes(w)));
  return (
    <div className="labware-picker">
      <input type="search" placeholder={`Search ${pool.length} labware…`} aria-label="Search labware" value={query}
             data-testid={`${testid}-search`} onChange={(e) => setQuery(e.target.value)} />
      <label className="inline"><input type="checkbox" checked={everything} onChange={(e) => setEverything(e.target.checked)} />
        all labware</label>
      <ul className="labware-options" role="listbox" aria-label="Labware">
        {found.slice(0, 60).map((l) => (
          <li key={l.load_name}>
            <button type="button" role="option" aria-selected={l.load_name === value} data-testid={`deck-option-${l.load_name}`}
                    title={l.load_name} onClick={() => onChoose(l)}>
              <span className="labware-name">{l.display_name}</span> <span className="labware-kind">{l.category}</span>
            </button>
          </li>))}
        {found.length > 60 && <li className="hint">{found.length - 60} more: narrow the search</li>}
        {!found.length && <li className="hint">No labware matches “{query}”.</li>}
      </ul>
    </div>
  );
}

// A labware's id, renamed on leaving the field (`set` puts the new id everywhere it is used).
function IdInput({ slot, thing, edit, set }) {
  return (
    <label>Id <input className="slot-id" data-testid={`deck-slot-${slot}-id`} defaultValue={thing.id} key={thing.id}
                     onBlur={(e) => { const id = slug(e.target.value); if (id !== thing.id) edit((dk) => set(dk, id)); }} /></label>
  );
}

function SlotEditor({ slot, defs, deck, robot, edit }) {
  const item = deck.labware.find((l) => l.slot === slot);
  const module = deck.modules.find((m) => m.slot === slot);
  const moduleDef = module && defs.modules.find((m) => m.model === module.model);
  const modulesHere = defs.modules.filter((m) => (m.slots || []).includes(slot));
  const nameOf = (name) => (defs.labware.find((l) => l.load_name === name) || {}).display_name || name;
  const offered = (moduleType) => offeredLabware(defs, { robot, moduleType, pipettes: deck.pipettes });

  if (slot === defs.deck.fixed_trash) return <div className="slot-editor"><h4>Slot {slot}</h4><p>The OT-2's fixed trash.</p></div>;
  if (deck.trash && deck.trash.slot === slot) {
    return (
      <div className="slot-editor"><h4>Slot {slot}</h4><p>The trash bin.</p>
        <button type="button" onClick={() => edit((dk) => { delete dk.trash; })}>Remove the trash bin</button></div>);
  }
  return (
    <div className="slot-editor" data-testid={`deck-slot-${slot}-editor`}>
      <h4>Slot {slot}</h4>
      {module && (<>
        <p><strong>{module.id}</strong>: {moduleDef ? moduleDef.display_name : module.model}{" "}
          <button type="button" className="link" aria-label={`Remove the module in slot ${slot}`} data-testid={`deck-slot-${slot}-module-remove`}
                  onClick={() => edit((dk) => { dk.modules = dk.modules.filter((m) => m.slot !== slot); })}>remove</button></p>
        {module.labware ? (<>
          <p>On it: {nameOf(module.labware.load_name)}{" "}
            <button type="button" className="link" data-testid={`deck-slot-${slot}-remove`}
                    onClick={() => edit((dk) => { delete dk.modules.find((m) => m.slot === slot).labware; })}>remove</button></p>
          <IdInput slot={slot} thing={module.labware} edit={edit} set={(dk, id) => { dk.modules.find((m) => m.slot === slot).labware.id = id; }} />
        </>) : (
          <LabwarePicker defs={defs} offered={offered(moduleDef ? moduleDef.type : "")} testid={`deck-slot-${slot}-module`}
                         onChoose={(def) => edit((dk) => {
                           dk.modules.find((m) => m.slot === slot).labware = { id: uniqueId(dk, baseId(def)), load_name: def.load_name };
                         })} />
        )}
      </>)}
      {!module && item && (<>
        <p>{nameOf(item.load_name)}{" "}
          <button type="button" className="link" data-testid={`deck-slot-${slot}-remove`}
                  onClick={() => edit((dk) => {
                    dk.labware = dk.labware.filter((l) => l.slot !== slot);
                    dk.pipettes.forEach((p) => { p.tip_racks = (p.tip_racks || []).filter((r) => r !== item.id); });
                  })}>remove</button></p>
        <IdInput slot={slot} thing={item} edit={edit} set={(dk, id) => {
          dk.pipettes.forEach((p) => { p.tip_racks = (p.tip_racks || []).map((r) => (r === item.id ? id : r)); });
          dk.labware.find((l) => l.slot === slot).id = id;
        }} />
      </>)}
      {!module && !item && (<>
        <LabwarePicker defs={defs} offered={offered("")} testid={`deck-slot-${slot}`}
                       onChoose={(def) => edit((dk) => {
                         const id = uniqueId(dk, baseId(def));
                         dk.labware.push({ id, load_name: def.load_name, slot });
                         if (def.is_tiprack) {  // a pipette that takes these tips uses them
                           dk.pipettes.forEach((p) => {
                             const spec = defs.pipettes.find((x) => x.name === p.instrument);
                             if (takesTips(spec, def)) p.tip_racks = [...(p.tip_racks || []), id];
                           });
                         }
                       })} />
        {modulesHere.length > 0 && (
          <label>or a module
            <select aria-label={`Module in slot ${slot}`} data-testid={`deck-slot-${slot}-module`} value=""
                    onChange={(e) => edit((dk) => {
                      const def = defs.modules.find((m) => m.model === e.target.value);
                      if (def) dk.modules.push({ id: uniqueId(dk, slug((def.type || "module").replace(/ModuleType$/, ""))), model: def.model, slot });
                    })}>
              <option value="">choose…</option>
              {modulesHere.map((m) => <option key={m.model} value={m.model}>{m.display_name}</option>)}
            </select>
          </label>)}
      </>)}
    </div>
  );
}

function Mount({ mount, deck, defs, edit }) {
  const pipette = deck.pipettes.find((p) => p.mount === mount);
  const spec = pipette && defs.pipettes.find((p) => p.name === pipette.instrument);
  const racks = deck.labware.filter((l) => (labwareDef(defs, l.load_name) || {}).is_tiprack);
  const fits = (rack) => !spec || takesTips(spec, labwareDef(defs, rack.load_name));
  return (
    <div className="mount">
      <label>{mount} pipette
        <select data-testid={`deck-pipette-${mount}`} value={pipette ? pipette.instrument : ""} onChange={(e) => edit((dk) => {
          dk.pipettes = dk.pipettes.filter((p) => p.mount !== mount);
          const chosen = defs.pipettes.find((p) => p.name === e.target.value);
          if (chosen) {
            const fitting = racks.filter((r) => takesTips(chosen, labwareDef(defs, r.load_name)));
            dk.pipettes.push({ id: pipette ? pipette.id : uniqueId(dk, mount), instrument: chosen.name, mount, tip_racks: fitting.map((r) => r.id) });
          }
        })}>
          <option value="">none</option>
          {defs.pipettes.map((p) => <option key={p.name} value={p.name}>{p.display_name}</option>)}
        </select>
      </label>
      {pipette && (
        <div className="tip-racks" role="group" aria-label={`Tip racks of the ${mount} pipette`}>
          tip racks: {racks.length === 0 && <span className="hint">put a tip rack on the deck</span>}
          {racks.map((r) => {
            const on = (pipette.tip_racks || []).includes(r.id);
            return (
              <button type="button" key={r.id} className={`chip${on ? " on" : ""}`} aria-pressed={on}
                      data-testid={`deck-pipette-${mount}-tips-${r.id}`} disabled={!on && !fits(r)}
                      title={fits(r) ? `slot ${r.slot}` : `these tips do not fit the ${spec.display_name}`}
                      onClick={() => edit((dk) => {
                        const p = dk.pipettes.find((x) => x.mount === mount);
                        p.tip_racks = on ? p.tip_racks.filter((x) => x !== r.id) : [...(p.tip_racks || []), r.id];
                      })}>{r.id}</button>);
          })}
        </div>)}
    </div>
  );
}

export function DeckPanel({ doc, change, errors, defs }) {
  const [chosen, setChosen] = useState(null);
  const robot = doc.robot ? doc.robot.type : "";
  const deck = { labware: [], pipettes: [], modules: [], ...(doc.deck || {}) };
  const edit = (fn) => change((d) => {
    d.deck = { labware: [], pipettes: [], modules: [], ...(d.deck || {}) };
    fn(d.deck, d);
    return d;
  });
  const problems = (slot) => {
    const found = errors.find((e) => e.path.startsWith("deck") && e.message.includes(`slot ${slot} `));
    return found ? found.message : "";
  };
  const slot = defs && chosen && defs.deck.slots[chosen] ? chosen : null;

  return (
    <section className="deck-panel" data-testid="deck-panel">
      <h3>Deck</h3>
      <label>Robot
        <select data-testid="deck-robot" value={robot} onChange={(e) => { const type = e.target.value; change((d) => {
          if (type) d.robot = { type, api_level: (d.robot && d.robot.api_level) || "2.20" };
          else delete d.robot;
          return d;
        }); }}>
          <option value="">none</option><option value="OT-2">OT-2</option><option value="Flex">Flex</option>
        </select>
      </label>
      {robot && defs && (<>
        <label>API level
          <select data-testid="deck-api-level" value={doc.robot.api_level} onChange={(e) => { const level = e.target.value; change((d) => { d.robot.api_level = level; return d; }); }}>
            {defs.api_levels.map((l) => <option key={l}>{l}</option>)}
          </select>
        </label>
        <DeckMap defs={defs} deck={deck} chosen={slot} onChoose={setChosen} problems={problems} />
        {slot ? <SlotEditor key={slot} slot={slot} defs={defs} deck={deck} robot={robot} edit={edit} />
          : <p className="hint">Click a slot to put labware or a module in it.</p>}
        {["left", "right"].map((mount) => <Mount key={mount} mount={mount} deck={deck} defs={defs} edit={edit} />)}
        {robot === "Flex" && <label>Trash bin
          <select data-testid="deck-trash" value={deck.trash ? deck.trash.slot : ""}
                  onChange={(e) => { const at = e.target.value; edit((dk) => { if (at) dk.trash = { slot: at }; else delete dk.trash; }); }}>
            <option value="">none</option>
            {defs.trash_slots.map((s) => <option key={s}>{s}</option>)}
          </select>
        </label>}
      </>)}
    </section>
  );
}
