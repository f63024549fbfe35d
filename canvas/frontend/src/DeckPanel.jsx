// The deck: robot type and API level, labware per slot, pipettes per mount, modules, trash —
// chosen from Opentrons' own definitions (GET /api/opentrons/definitions).
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

// The OT-2 deck as seen from the front: 10 11 (trash) / 7 8 9 / 4 5 6 / 1 2 3.
const OT2_ORDER = ["10", "11", "12", "7", "8", "9", "4", "5", "6", "1", "2", "3"];

export function DeckPanel({ doc, change, errors, defs }) {
  const robot = doc.robot ? doc.robot.type : "";
  const deck = doc.deck || { labware: [], pipettes: [], modules: [] };
  const edit = (fn) => change((d) => {
    d.deck = d.deck || { labware: [], pipettes: [], modules: [] };
    ["labware", "pipettes", "modules"].forEach((k) => { d.deck[k] = d.deck[k] || []; });
    fn(d.deck, d);
    return d;
  });
  const modulesFor = (slot) => (defs ? defs.modules.filter((m) => (m.slots || []).includes(slot)) : []);
  const slotError = (slot) => errors.find((e) => e.path.startsWith("deck.") && e.message.includes(`slot ${slot} `));

  return (
    <section className="deck-panel" data-testid="deck-panel">
      <h3>Deck</h3>
      <label>Robot
        <select data-testid="deck-robot" value={robot} onChange={(e) => change((d) => {
          if (e.target.value) d.robot = { type: e.target.value, api_level: (d.robot && d.robot.api_level) || "2.20" };
          else delete d.robot;
          return d;
        })}>
          <option value="">none</option><option value="OT-2">OT-2</option><option value="Flex">Flex</option>
        </select>
      </label>
      {robot && defs && (<>
        <label>API level
          <select data-testid="deck-api-level" value={doc.robot.api_level} onChange={(e) => change((d) => { d.robot.api_level = e.target.value; return d; })}>
            {defs.api_levels.map((l) => <option key={l}>{l}</option>)}
          </select>
        </label>
        <div className={`deck-grid deck-${robot === "Flex" ? "flex" : "ot2"}`}>
          {(robot === "OT-2" ? OT2_ORDER : defs.slots).map((slot) => {
            if (slot === "12") return <div key={slot} className="deck-slot trash"><span className="slot-name">12</span> trash</div>;
            const item = deck.labware.find((l) => l.slot === slot);
            const module = deck.modules.find((m) => m.slot === slot);
            const problem = slotError(slot);
            return (
              <div key={slot} className={`deck-slot${problem ? " has-problems" : ""}`} data-testid={`deck-slot-${slot}`} title={problem ? problem.message : ""}>
                <span className="slot-name">{slot}</span>
                {module ? (
                  <span className="slot-module">
                    <span>{module.id}: {(defs.modules.find((m) => m.model === module.model) || {}).display_name || module.model}</span>
                    <button type="button" className="link" aria-label={`Remove the module in slot ${slot}`}
                            onClick={() => edit((dk) => { dk.modules = dk.modules.filter((m) => m.slot !== slot); })}>remove</button>
                    <select aria-label={`Labware on the module in slot ${slot}`} data-testid={`deck-slot-${slot}-module-labware`}
                            value={module.labware ? module.labware.load_name : ""}
                            onChange={(e) => edit((dk) => {
                              const m = dk.modules.find((x) => x.slot === slot);
                              if (!e.target.value) { delete m.labware; return; }
                              const def = defs.labware.find((l) => l.load_name === e.target.value);
                              m.labware = { id: m.labware ? m.labware.id : uniqueId(dk, slug(def ? def.category || "labware" : "labware")), load_name: e.target.value };
                            })}>
                      <option value="">no labware</option>
                      {defs.labware.map((l) => <option key={l.load_name} value={l.load_name}>{l.display_name}</option>)}
                    </select>
                  </span>
                ) : (<>
                  <select aria-label={`Labware in slot ${slot}`} data-testid={`deck-slot-${slot}-labware`} value={item ? item.load_name : ""}
                          onChange={(e) => edit((dk) => {
                            dk.labware = dk.labware.filter((l) => l.slot !== slot);
                            if (e.target.value) {
                              const def = defs.labware.find((l) => l.load_name === e.target.value);
                              const base = def && def.is_tiprack ? "tips" : slug(def ? def.category || "labware" : "labware");
                              dk.labware.push({ id: item ? item.id : uniqueId(dk, base), load_name: e.target.value, slot });
                            }
                          })}>
                    <option value="">empty</option>
                    {defs.labware.map((l) => <option key={l.load_name} value={l.load_name}>{l.display_name}</option>)}
                  </select>
                  {item && <input aria-label={`Id of the labware in slot ${slot}`} className="slot-id" data-testid={`deck-slot-${slot}-id`} defaultValue={item.id}
                                  onBlur={(e) => edit((dk) => { const l = dk.labware.find((x) => x.slot === slot); if (l) l.id = slug(e.target.value); })} />}
                  {!item && modulesFor(slot).length > 0 && (
                    <select aria-label={`Module in slot ${slot}`} data-testid={`deck-slot-${slot}-module`} value=""
                            onChange={(e) => edit((dk) => {
                              const def = defs.modules.find((m) => m.model === e.target.value);
                              if (def) dk.modules.push({ id: uniqueId(dk, slug((def.type || "module").replace(/ModuleType$/, ""))), model: def.model, slot });
                            })}>
                      <option value="">or a module…</option>
                      {modulesFor(slot).map((m) => <option key={m.model} value={m.model}>{m.display_name}</option>)}
                    </select>
                  )}
                </>)}
              </div>
            );
          })}
        </div>
        {["left", "right"].map((mount) => {
          const pipette = deck.pipettes.find((p) => p.mount === mount);
          const racks = deck.labware.filter((l) => (defs.labware.find((d) => d.load_name === l.load_name) || {}).is_tiprack);
          return (
            <div key={mount} className="mount">
              <label>{mount} pipette
                <select data-testid={`deck-pipette-${mount}`} value={pipette ? pipette.instrument : ""} onChange={(e) => edit((dk) => {
                  dk.pipettes = dk.pipettes.filter((p) => p.mount !== mount);
                  if (e.target.value) {
                    dk.pipettes.push({ id: pipette ? pipette.id : uniqueId(dk, mount), instrument: e.target.value, mount,
                      tip_racks: pipette ? pipette.tip_racks : racks.map((r) => r.id) });
                  }
                })}>
                  <option value="">none</option>
                  {defs.pipettes.map((p) => <option key={p.name} value={p.name}>{p.display_name}</option>)}
                </select>
              </label>
              {pipette && <label>tip racks
                <select multiple data-testid={`deck-pipette-${mount}-tips`} value={pipette.tip_racks}
                        onChange={(e) => { const chosen = [...e.target.selectedOptions].map((o) => o.value);
                          edit((dk) => { dk.pipettes.find((p) => p.mount === mount).tip_racks = chosen; }); }}>
                  {racks.map((r) => <option key={r.id} value={r.id}>{r.id}</option>)}
                </select>
              </label>}
            </div>
          );
        })}
        {robot === "Flex" && <label>Trash bin
          <select data-testid="deck-trash" value={deck.trash ? deck.trash.slot : ""}
                  onChange={(e) => edit((dk) => { if (e.target.value) dk.trash = { slot: e.target.value }; else delete dk.trash; })}>
            <option value="">none</option>
            {defs.trash_slots.map((s) => <option key={s}>{s}</option>)}
          </select>
        </label>}
      </>)}
    </section>
  );
}
