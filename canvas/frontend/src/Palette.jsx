// The node types, by category, searchable; a click adds one after the selected step, a drag
// drops one where it is let go.
import { useState } from "react";

export function Palette({ groups, onAdd }) {
  const [query, setQuery] = useState("");
  const q = query.trim().toLowerCase();
  return (
    <aside className="palette" aria-label="Node types">
      <input type="search" placeholder="Search steps…" value={query} aria-label="Search steps"
             data-testid="palette-search" onChange={(e) => setQuery(e.target.value)} />
      {groups.map((group) => {
        const types = group.types.filter((t) => !q || t.title.toLowerCase().includes(q) || t.type.includes(q));
        if (!types.length) return null;
        return (
          <section key={group.category}>
            <h4>{group.title}</h4>
            {types.map((t) => (
              <button type="button" key={t.type} className={`palette-item cat-${group.category.replace(".", "-")}`}
                      data-testid={`palette-item-${t.type}`} draggable title={t.description}
                      onDragStart={(e) => e.dataTransfer.setData("application/x-sdl-node", t.type)}
                      onClick={() => onAdd(t.type)}>
                {t.title}
              </button>
            ))}
          </section>
        );
      })}
    </aside>
  );
}
