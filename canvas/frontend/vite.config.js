import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// One IIFE bundle (window.SDLCanvas) plus its CSS, served by Django from static/dist/.
export default defineConfig({
  plugins: [react()],
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir: "../../static/dist",
    emptyOutDir: true,
    lib: {
      entry: "src/main.jsx",
      name: "SDLCanvas",
      formats: ["iife"],
      fileName: () => "sdl-canvas.js",
      cssFileName: "sdl-canvas",
    },
  },
});
