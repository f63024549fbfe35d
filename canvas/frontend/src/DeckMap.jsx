// The deck drawn to scale from Opentrons' own definitions: each slot where the robot has it,
// each labware's footprint and wells where its definition puts them (fetched when placed),
// modules in their slots (the thermocycler over all of its), the trash, and the starting
// liquids coloured in their wells. A click on a slot chooses it.
import { useEffect, useState } from "react";
import * as api from "./api.js";
import { wellFill } from "./LiquidsPanel.jsx";

const geometries = new Map(); // load name → promise of its geometry, once per page

export function useGeometries(loadNames) {
  const [found, setFound] = useState({});
  const key = [...new Set(loadNames)].sort().join(" ");
  useEffect(() => {
    let gone = false;
    key.split(" ").filter(Boolean).forEach((name) => {
      if (!geometries.has(name)) geometries.set(name, api.labwareGeometry(name).catch(() => null));
      geometries.get(name).then((g) => !gone && g && setFound((f) => (f[name] ? f : { ...f, [name]: g })));
    });
    return () => { gone = true; };
  }, [key]);
  return found;
}

function LabwareDrawing({ item, at, geometry, liquids, capacity }) {
  const [x, y, w, h] = at;
  if (!geometry) return <rect x={x + 1} y={y + 1} width={w - 2} height={h - 2} className="labware" />;
  const [fx, fy] = geometry.footprint;
  const scale = Math.min(1, (w - 2) / fx, (h - 2) / fy); // an adapter larger than the slot
  const left = x + (w - fx * scale) / 2;
  const top = y + (h - fy * scale) / 2;
  const contents = item.contents || {};
  return (
    <g className="labware" data-testid={`deck-labware-${item.id}`}>
      <rect x={left} y={top} width={fx * scale} height={fy * scale} rx={3} />
      {Object.entries(geometry.wells).map(([name, [wx, wy, a, b]]) => {
        const cx = left + wx * scale;
        const cy = top + (fy - wy) * scale;
        const amount = contents[name];
        const fill = amount ? wellFill({ [amount.liquid]: amount.volume }, liquids, capacity) : null;
        const style = fill ? { fill: fill.color } : undefined;
        const title = <title>{`${item.id} ${name}${fill ? `: ${fill.title}` : ""}`}</title>;
        return b === undefined
          ? <circle key={name} cx={cx} cy={cy} r={(a / 2) * scale} className="well" style={style}>{title}</circle>
          : <rect key={name} x={cx - (a / 2) * scale} y={cy - (b / 2) * scale} width={a * scale} height={b * scale}
                  className="well" style={style}>{title}</rect>;
      })}
    </g>
  );
}

export function DeckMap({ defs, deck, chosen, onChoose, problems }) {
  const geometry = defs.deck;
  const placed = [...(deck.labware || []), ...(deck.modules || []).map((m) => m.labware).filter(Boolean)];
  const shapes = useGeometries(placed.map((l) => l.load_name));
  const liquids = deck.liquids || [];
  const slots = Object.entries(geometry.slots);
  const right = Math.max(...slots.map(([, r]) => r[0] + r[2]));
  const back = Math.max(...slots.map(([, r]) => r[1] + r[3]));
  // Opentrons' y grows to the back of the robot; the drawing's grows down the page.
  const box = ([x, y, w, h]) => [x, back - y - h, w, h];
  const thermocycler = (deck.modules || []).find((m) => m.model.startsWith("thermocycler"));
  const covered = thermocycler ? geometry.thermocycler_slots : [];
  const union = (names) => {
    const rects = names.map((s) => box(geometry.slots[s]));
    const x = Math.min(...rects.map((r) => r[0]));
    const y = Math.min(...rects.map((r) => r[1]));
    return [x, y, Math.max(...rects.map((r) => r[0] + r[2])) - x, Math.max(...rects.map((r) => r[1] + r[3])) - y];
  };
  const trash = geometry.fixed_trash || (deck.trash && deck.trash.slot);
  const capacity = (name) => ((defs.labware.find((l) => l.load_name === name) || {}).well_volume);
  const moduleName = (m) => (defs.modules.find((d) => d.model === m.model) || {}).display_name || m.model;

  return (
    <svg className="deck-map" viewBox={`-6 -6 ${right + 12} ${back + 12}`} role="group"
         aria-label={`The ${defs.robot} deck`} data-testid="deck-map">
      {slots.map(([slot, rect]) => {
        if (covered.includes(slot) && slot !== thermocycler.slot) return null;
        const at = thermocycler && slot === thermocycler.slot ? union(covered) : box(rect);
        const module = (deck.modules || []).find((m) => m.slot === slot);
        const item = (deck.labware || []).find((l) => l.slot === slot);
        const isTrash = slot === trash;
        const onModule = module && module.labware;
        const inset = module ? [at[0] + 4, at[1] + 10, at[2] - 8, at[3] - 12] : at;
        return (
          <g key={slot} className={`slot${chosen === slot ? " chosen" : ""}${problems(slot) ? " has-problems" : ""}`}
             data-testid={`deck-slot-${slot}`} role="button" aria-label={`Slot ${slot}`} aria-pressed={chosen === slot}
             onClick={() => onChoose(slot)}>
            <rect x={at[0]} y={at[1]} width={at[2]} height={at[3]} rx={4} className="slot-area">
              {problems(slot) && <title>{problems(slot)}</title>}
            </rect>
            {isTrash && <><rect x={at[0] + 4} y={at[1] + 4} width={at[2] - 8} height={at[3] - 8} rx={6} className="trash" />
              <text x={at[0] + at[2] / 2} y={at[1] + at[3] / 2 + 4} className="deck-label middle">Trash</text></>}
            {module && <rect x={at[0] + 1} y={at[1] + 1} width={at[2] - 2} height={at[3] - 2} rx={5} className="module" />}
            {module && <text x={at[0] + 5} y={at[1] + 9} className="deck-label small">{moduleName(module)}</text>}
            {item && <LabwareDrawing item={item} at={at} geometry={shapes[item.load_name]} liquids={liquids} capacity={capacity(item.load_name)} />}
            {onModule && <LabwareDrawing item={module.labware} at={inset} geometry={shapes[module.labware.load_name]} liquids={liquids}
                                         capacity={capacity(module.labware.load_name)} />}
            <text x={at[0] + 3} y={at[1] + at[3] - 3} className="deck-label slot-name">{slot}</text>
            {(item || onModule) && <text x={at[0] + at[2] - 3} y={at[1] + at[3] - 3} className="deck-label end">{(item || module.labware).id}</text>}
          </g>
        );
      })}
    </svg>
  );
}
