import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { EditorRoot } from "./Editor.jsx";
import { RunViewRoot } from "./RunView.jsx";
import { mountRunsList } from "./runs_list.js";

export function mountRunView(element, config) {
  createRoot(element).render(<RunViewRoot config={config} />);
}

export { mountRunsList };

export function mountEditor(element, config, csrf) {
  createRoot(element).render(<EditorRoot config={config} csrf={csrf} />);
}
