import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { RunViewRoot } from "./RunView.jsx";
import { mountRunsList } from "./runs_list.js";

export function mountRunView(element, config) {
  createRoot(element).render(<RunViewRoot config={config} />);
}

export { mountRunsList };
