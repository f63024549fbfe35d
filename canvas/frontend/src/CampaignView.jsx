// A campaign, live: the objective of each trial and the best so far, each searched parameter
// against the objective, the trials table, and pause / resume / stop.
import { useEffect, useRef, useState } from "react";
import { LiveRun } from "./live.js";
import * as api from "./api.js";

const ACTIVE = ["running", "paused", "stopping"];
const W = 520; const H = 220; const PAD = 36;

function scale(values, size, pad) {
  const lo = Math.min(...values); const hi = Math.max(...values);
  const span = hi - lo || 1;
  return (v) => pad + ((v - lo) / span) * (size - 2 * pad);
}

function better(direction) {
  return direction === "maximize" ? (a, b) => a > b : (a, b) => a < b;
}

function ObjectivePlot({ trials, objective }) {
  const points = trials.filter((t) => t.values[objective.path] !== undefined)
    .map((t) => ({ n: t.number, v: t.values[objective.path] }));
  if (!points.length) return <p className="hint">No finished trial yet.</p>;
  const x = scale(points.map((p) => p.n).concat([1]), W, PAD);
  const ys = points.map((p) => p.v).concat(objective.target !== undefined && objective.target !== null ? [objective.target] : []);
  const yRaw = scale(ys, H, PAD);
  const y = (v) => H - yRaw(v);
  const isBetter = better(objective.direction);
  const bests = points.reduce((acc, p) => [...acc, acc.length && !isBetter(p.v, acc[acc.length - 1]) ? acc[acc.length - 1] : p.v], []);
  const bestLine = points.map((p, i) => `${x(p.n)},${y(bests[i])}`);
  return (
    <svg width={W} height={H} className="plot" data-testid="campaign-plot" role="img"
         aria-label={`${objective.path} per trial, and the best so far`}>
      <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} className="axis" />
      <line x1={PAD} y1={PAD} x2={PAD} y2={H - PAD} className="axis" />
      <text x={W / 2} y={H - 6} className="label">trial</text>
      <text x={4} y={14} className="label">{objective.path.split(".").pop()}</text>
      {objective.target !== undefined && objective.target !== null && (
        <line x1={PAD} x2={W - PAD} y1={y(objective.target)} y2={y(objective.target)} className="target" />)}
      <polyline points={bestLine.join(" ")} className="best" data-testid="campaign-best-line" />
      {points.map((p) => <circle key={p.n} cx={x(p.n)} cy={y(p.v)} r={4} className="trial-dot"><title>trial {p.n}: {p.v}</title></circle>)}
    </svg>
  );
}

function ParameterPlot({ trials, dimension, objective }) {
  const points = trials.filter((t) => t.values[objective.path] !== undefined && typeof t.parameters[dimension.parameter] === "number")
    .map((t) => ({ p: t.parameters[dimension.parameter], v: t.values[objective.path], n: t.number }));
  if (!points.length) return null;
  const w = 240; const h = 150;
  const x = scale(points.map((q) => q.p).concat([dimension.low, dimension.high].filter((v) => v !== undefined)), w, 24);
  const yRaw = scale(points.map((q) => q.v), h, 20);
  return (
    <figure className="param-plot" data-testid={`campaign-param-${dimension.parameter}`}>
      <svg width={w} height={h} role="img" aria-label={`${dimension.parameter} against the objective`}>
        <line x1={24} y1={h - 20} x2={w - 24} y2={h - 20} className="axis" />
        {points.map((q) => <circle key={q.n} cx={x(q.p)} cy={h - yRaw(q.v)} r={3} className="trial-dot"><title>trial {q.n}: {dimension.parameter} {q.p} → {q.v}</title></circle>)}
      </svg>
      <figcaption>{dimension.parameter}</figcaption>
    </figure>
  );
}


export function CampaignView({ config }) {
  const [campaign, setCampaign] = useState(config.campaign);
  const [notice, setNotice] = useState("");
  const id = campaign.id;
  // Live over the runs websocket: every change of a run's state (a trial starting or ending)
  // refreshes the campaign; a slow poll covers what no run says (e.g. a state change by hand).
  const pending = useRef(null);
  useEffect(() => {
    if (!ACTIVE.includes(campaign.state) && campaign.state !== "draft") return undefined;
    const refresh = () => api.campaign(id).then(setCampaign, () => {});
    const soon = () => { clearTimeout(pending.current); pending.current = setTimeout(refresh, 100); };
    const stream = new LiveRun("/ws/runs/", { onEvent: (m) => m.type === "run" && soon(), dedupe: false });
    const timer = setInterval(refresh, 5000);
    return () => { stream.close(); clearInterval(timer); clearTimeout(pending.current); };
  }, [id, campaign.state]);
  const act = (action) => api.post(`/api/campaigns/${id}/${action}`).then(async (r) => {
    const answer = await r.json();
    if (r.ok) { setCampaign(answer); setNotice(""); } else setNotice(answer.detail);
  });
  const objective = campaign.objectives[0];
  const trials = campaign.trials || [];
  const best = trials.find((t) => t.number === campaign.best);
  return (
    <div className="campaign" data-testid="campaign-view">
      <div className="run-head">
        <h1>{campaign.name} <small>workflow v{campaign.version} · {campaign.optimiser} · {campaign.engine}</small></h1>
        <span className={`badge state-${campaign.state}`} data-testid="campaign-state" data-state={campaign.state}>{campaign.state}</span>
        {campaign.reason && <span data-testid="campaign-reason">{campaign.reason}</span>}
      </div>
      <div className="run-bar">
        <span data-testid="campaign-progress">{trials.length} of {campaign.budget} runs</span>
        {best && <span data-testid="campaign-best">best: trial {best.number}, {objective.path.split(".").pop()} = {best.values[objective.path]}</span>}
        {config.mayControl && (<>
          {campaign.state === "draft" && <button type="button" data-testid="campaign-start" onClick={() => act("start")}>Start</button>}
          <button type="button" data-testid="campaign-pause" disabled={campaign.state !== "running"} onClick={() => act("pause")}>Pause</button>
          <button type="button" data-testid="campaign-resume" disabled={campaign.state !== "paused"} onClick={() => act("resume")}>Resume</button>
          <button type="button" className="danger" data-testid="campaign-stop" disabled={!["running", "paused"].includes(campaign.state)}
                  onClick={() => window.confirm("Stop the campaign? Its running trials are cancelled.") && act("stop")}>Stop</button>
        </>)}
        <a className="button" href={`/api/campaigns/${id}/trials.csv`} data-testid="campaign-csv">CSV</a>
        <a className="button" href={`/api/campaigns/${id}/ro-crate`}>RO-Crate</a>
        <a className="button" href={`/runs/?campaign=${id}`}>Its runs</a>
        {notice && <span className="bad">{notice}</span>}
      </div>
      <ObjectivePlot trials={trials} objective={objective} />
      <div className="param-plots">{campaign.space.map((d) => <ParameterPlot key={d.parameter} trials={trials} dimension={d} objective={objective} />)}</div>
      <table className="list" data-testid="campaign-trials">
        <thead><tr><th>#</th><th>state</th>{campaign.space.map((d) => <th key={d.parameter}>{d.parameter}</th>)}
          {campaign.objectives.map((o) => <th key={o.path}>{o.path.split(".").pop()}</th>)}<th>chosen by</th><th>run</th></tr></thead>
        <tbody>{[...trials].reverse().map((t) => (
          <tr key={t.number} data-testid={`campaign-trial-${t.number}`} className={t.number === campaign.best ? "best" : ""}>
            <td>{t.number}</td><td><span className={`badge state-${t.state}`}>{t.state}</span></td>
            {campaign.space.map((d) => <td key={d.parameter}>{typeof t.parameters[d.parameter] === "number" ? Math.round(t.parameters[d.parameter] * 1000) / 1000 : t.parameters[d.parameter]}</td>)}
            {campaign.objectives.map((o) => <td key={o.path}>{t.values[o.path] ?? (t.error ? "—" : "")}</td>)}
            <td title={JSON.stringify(t.suggested_by)}>{t.suggested_by.phase === "initial design" ? `initial (${campaign.initial_design})` : t.suggested_by.optimiser}</td>
            <td>{t.run && <a href={`/runs/${t.run}/`}>run {t.run}</a>}</td>
          </tr>))}</tbody>
      </table>
    </div>
  );
}
