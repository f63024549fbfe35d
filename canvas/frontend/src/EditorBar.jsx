// The editor's top bar: name, version, undo/redo, layout, step search, files, save and run.
import { useRef } from "react";
import { findStep } from "./docops.js";

export function EditorBar({ doc, change, workflowId, version, dirty, history, saving, message, setMessage,
  config, runnable, onSave, onLayout, onGoTo, onNote, onGroup, canGroup, onExport, onImport, onHelp, setNotice, findRef }) {
  const importer = useRef(null);
  const go = (workflowPage) => { window.location.href = `/workflows/${workflowId}/${workflowPage}`; };
  const blocked = !workflowId || !config.mayRun || dirty || !runnable;
  return (
    <div className="editor-bar">
      <input className="workflow-name" aria-label="Workflow name" data-testid="workflow-name" value={doc.name}
             onChange={(e) => { const value = e.target.value; change((d) => { d.name = value; return d; }); }} />
      <span className="version">{workflowId ? `v${version}` : "not saved yet"}</span>
      {dirty && <span className="unsaved" data-testid="unsaved">unsaved changes</span>}
      <button type="button" data-testid="undo-button" aria-label="Undo" disabled={!history.canUndo} onClick={history.undo}>Undo</button>
      <button type="button" data-testid="redo-button" aria-label="Redo" disabled={!history.canRedo} onClick={history.redo}>Redo</button>
      <button type="button" data-testid="layout-button" aria-label="Auto-layout" onClick={onLayout}>Auto-layout</button>
      <button type="button" data-testid="note-button" title="A sticky note on the canvas" onClick={onNote}>Note</button>
      <button type="button" data-testid="group-button" title="A titled box around the selected steps (Ctrl+G)"
              disabled={!canGroup} onClick={onGroup}>Group</button>
      <input className="step-search" list="step-list" placeholder="Go to step…" aria-label="Go to step"
             data-testid="step-search" ref={findRef} onKeyDown={(e) => {
               if (e.key !== "Enter") return;
               const found = findStep(doc, e.target.value);
               if (found) { onGoTo(found.id); e.target.value = ""; } else setNotice(`No step matches “${e.target.value}”.`);
             }} />
      <datalist id="step-list">{doc.nodes.map((n) => <option key={n.id} value={n.id}>{n.label || n.type}</option>)}</datalist>
      <button type="button" data-testid="export-button" aria-label="Export JSON" onClick={onExport}>Export</button>
      <button type="button" data-testid="import-button" aria-label="Import JSON" onClick={() => importer.current.click()}>Import</button>
      <input type="file" accept="application/json,.json" hidden ref={importer} data-testid="import-file"
             onChange={(e) => { if (e.target.files[0]) onImport(e.target.files[0]); e.target.value = ""; }} />
      {workflowId && doc.robot && (
        <a className="button" data-testid="protocol-button" href={`/api/workflows/${workflowId}/protocol.py`}
           title={dirty ? "The saved version, as an Opentrons protocol" : "As an Opentrons Python protocol"}>Protocol</a>)}
      <button type="button" data-testid="help-button" aria-label="Keyboard shortcuts" onClick={onHelp}>?</button>
      <input className="save-message" placeholder="What changed?" aria-label="Version message"
             data-testid="save-message" value={message} onChange={(e) => setMessage(e.target.value)} />
      <button type="button" className="primary" data-testid="save-button" aria-label="Save"
              disabled={!config.mayEdit || saving} onClick={onSave}>Save</button>
      <button type="button" data-testid="run-button" aria-label="Run" disabled={blocked}
              title={dirty || !workflowId ? "Save first" : runnable ? "" : "Fix the problems first"}
              onClick={() => go("run")}>Run</button>
      <button type="button" data-testid="campaign-button" disabled={blocked}
              title="An optimiser chooses each run's parameters" onClick={() => go("campaign")}>New campaign</button>
    </div>
  );
}
