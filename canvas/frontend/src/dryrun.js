// The whole-workflow dry run (POST /api/dry-run): played on the Opentrons simulator by the
// server while the user keeps editing; its findings join the validation report.
import { useEffect, useState } from "react";

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

export function useDryRun(doc, enabled, csrf) {
  const [dry, setDry] = useState({ status: "idle", problems: [] });
  useEffect(() => {
    if (!enabled) { setDry({ status: "idle", problems: [] }); return undefined; }
    let gone = false;
    let timer = null;
    const show = (answer) => {
      if (gone) return;
      setDry({ problems: [], ...answer });
      if (answer.status === "checking" && answer.key) {
        timer = setTimeout(() => fetch(`/api/dry-run/${answer.key}`, { credentials: "same-origin" })
          .then((r) => r.json()).then(show, () => {}), 400);
      }
    };
    const start = setTimeout(() => {
      setDry((d) => ({ ...d, status: "checking" }));
      fetch("/api/dry-run", {
        method: "POST", credentials: "same-origin", body: JSON.stringify({ document: doc }),
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      }).then((r) => (r.ok ? r.json() : { status: "crashed", why: `the server answered ${r.status}` }))
        .then(show, () => {});
    }, 600);
    return () => { gone = true; clearTimeout(start); clearTimeout(timer); };
  }, [doc, enabled, csrf]);
  return dry;
}
