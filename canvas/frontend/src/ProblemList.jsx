// Validation and dry-run problems; a click goes to the step, edge or panel each names.
import { dryRunLabel } from "./dryrun.js";

export function ProblemList({ problems, dry, onPick }) {
  return (
    <div className="problems" data-testid="validation-errors">
      <h4>{problems.length === 0 ? "No problems" : `${problems.length} problem${problems.length === 1 ? "" : "s"}`}</h4>
      {dryRunLabel(dry) && <p className={`dry-run dry-run-${dry.status.replace(" ", "-")}`} data-testid="dry-run-status"
                              data-status={dry.status}>{dryRunLabel(dry)}</p>}
      <ul>{problems.map((e, i) => (
        <li key={i}><button type="button" className="link" onClick={() => onPick(e.path)}>
          <code>{e.path}</code> {e.message}</button></li>))}
      </ul>
    </div>
  );
}
