import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { EditorRoot } from "./Editor.jsx";
import { RunViewRoot } from "./RunView.jsx";
import { mountRunsList } from "./runs_list.js";
import { CampaignView } from "./CampaignView.jsx";
import { setCsrf } from "./api.js";
import { localiseTimes } from "./when.js";

export function mountRunView(element, config) {
  createRoot(element).render(<RunViewRoot config={config} />);
}

export { mountRunsList };

export function mountEditor(element, config) {
  createRoot(element).render(<EditorRoot config={config} />);
}

// Each page says what it holds (an element with a known id and its config as JSON); the bundle
// mounts it. Pages carry no inline script, so the Content-Security-Policy can forbid them all.
function boot() {
  setCsrf(document.querySelector("[name=csrfmiddlewaretoken]")?.value);
  localiseTimes();
  const config = (id) => JSON.parse(document.getElementById(id).textContent);
  const editor = document.getElementById("editor");
  if (editor) mountEditor(editor, config("editor-config"));
  const run = document.getElementById("run-view");
  if (run) mountRunView(run, config("run-config"));
  const campaign = document.getElementById("campaign-view");
  if (campaign) createRoot(campaign).render(<CampaignView config={config("campaign-config")} />);
  document.querySelectorAll("form.confirm-delete").forEach((form) => form.addEventListener("submit", (e) => {
    if (!window.confirm("Delete this workflow? Its versions and runs stay, marked deleted.")) e.preventDefault();
  }));
  const list = document.querySelector("[data-testid=run-list] tbody");
  if (list) mountRunsList(list);
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
}
