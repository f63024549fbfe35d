// The whole-workflow dry run (POST /api/dry-run): played on the Opentrons simulator by the
// server while the user keeps editing; its findings join the validation report.
import { useEffect, useState } from "react";
import * as api from "./api.js";
import { sameJson } from "./editorHooks.js";

export const DRY_RUN_BLOCKS = ["problems", "crashed", "timed out"];

export function dryRunLabel(dry) {
  if (!dry || dry.status === "not applicable" || dry.status === "idle") return "";
  if (dry.status === "checking") return "Dry run: checking…";
  if (dry.status === "passed") return "Dry run: passed";
  if (dry.status === "problems") {
    const n = dry.problems.length;
    return `Dry run: ${n} problem${n === 1 ? "" : "s"}`;
  }
  return `Dry run: ${dry.status}${dry.why ? ` (${dry.why})` : ""}`;
}

const IDLE = { status: "idle", problems: [] };

export function useDryRun(doc, enabled) {
  const [dry, setDry] = useState(IDLE);
  useEffect(() => {
    if (!enabled) return undefined;
    let gone = false;
    let timer = null;
    const show = (answer) => {
      if (gone) return;
      const next = { problems: [], ...answer };
      setDry((prev) => (sameJson(prev, next) ? prev : next));
      if (answer.status === "checking" && answer.key) {
        timer = setTimeout(() => api.dryRunResult(answer.key).then(show, () => {}), 400);
      }
    };
    const start = setTimeout(() => {
      setDry((d) => ({ ...d, status: "checking" }));
      api.startDryRun(doc).then((r) => (r.ok ? r.json() : { status: "crashed", why: `the server answered ${r.status}` }))
        .then(show, () => {});
    }, 600);
    return () => { gone = true; clearTimeout(start); clearTimeout(timer); };
  }, [doc, enabled]);
  return enabled ? dry : IDLE;
}
