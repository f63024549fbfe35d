import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { EditorRoot } from "./Editor.jsx";
import { RunViewRoot } from "./RunView.jsx";
import { mountRunsList } from "./runs_list.js";
import { CampaignView } from "./CampaignView.jsx";

export function mountRunView(element, config, csrf) {
  createRoot(element).render(<RunViewRoot config={config} csrf={csrf} />);
}

export { mountRunsList };

export function mountEditor(element, config, csrf) {
  createRoot(element).render(<EditorRoot config={config} csrf={csrf} />);
}

// Each page says what it holds (an element with a known id and its config as JSON); the bundle
// mounts it. Pages carry no inline script, so the Content-Security-Policy can forbid them all.
function boot() {
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
  const config = (id) => JSON.parse(document.getElementById(id).textContent);
  const editor = document.getElementById("editor");
  if (editor) mountEditor(editor, config("editor-config"), csrf);
  const run = document.getElementById("run-view");
  if (run) mountRunView(run, config("run-config"), csrf);
  const campaign = document.getElementById("campaign-view");
  if (campaign) createRoot(campaign).render(<CampaignView config={config("campaign-config")} csrf={csrf} />);
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
