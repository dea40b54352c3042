// The "Show hook graph" panel: the server's SVG, fitted to the panel, with zoom.
// Kept apart from extension.js (no `vscode` import) so that it can be tested with node alone.
"use strict";

const crypto = require("crypto");

// Runs inside the webview. Graphviz gives the SVG a size in points and a viewBox:
// the size is dropped and the drawing scaled to the panel ("Fit", the default, never
// larger than 100%), or to a zoom level the user picks (buttons, Ctrl/Cmd + wheel,
// + - 0 keys); when zoomed in, the panel scrolls.
function viewer() {
  const view = document.getElementById("view");
  const svg = view.querySelector("svg");
  const level = document.getElementById("level");
  if (!svg) {
    return;
  }
  const size = (attr, fallback) => {
    const m = /^([\d.]+)(pt|px)?$/.exec(svg.getAttribute(attr) || "");
    return m ? parseFloat(m[1]) * (m[2] === "pt" ? 4 / 3 : 1) : fallback;
  };
  const box = svg.viewBox && svg.viewBox.baseVal;
  const natural = { w: size("width", box ? box.width : 800), h: size("height", box ? box.height : 600) };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  let scale = null; // null: fit to the panel
  const fitScale = () => Math.min(1, (view.clientWidth - 16) / natural.w, (view.clientHeight - 16) / natural.h);
  function apply() {
    const s = scale === null ? fitScale() : scale;
    svg.style.width = `${natural.w * s}px`;
    svg.style.height = `${natural.h * s}px`;
    level.textContent = `${Math.round(s * 100)}%${scale === null ? " (fit)" : ""}`;
  }
  const zoom = (factor) => {
    const current = scale === null ? fitScale() : scale;
    scale = Math.max(0.05, Math.min(8, current * factor));
    apply();
  };
  document.getElementById("fit").addEventListener("click", () => { scale = null; apply(); });
  document.getElementById("actual").addEventListener("click", () => { scale = 1; apply(); });
  document.getElementById("in").addEventListener("click", () => zoom(1.25));
  document.getElementById("out").addEventListener("click", () => zoom(0.8));
  view.addEventListener("wheel", (e) => {
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      zoom(e.deltaY < 0 ? 1.1 : 1 / 1.1);
    }
  }, { passive: false });
  window.addEventListener("keydown", (e) => {
    if (e.key === "+" || e.key === "=") zoom(1.25);
    else if (e.key === "-") zoom(0.8);
    else if (e.key === "0") { scale = null; apply(); }
  });
  window.addEventListener("resize", () => { if (scale === null) apply(); });
  apply();
}

const STYLE = `
  html, body { height: 100%; margin: 0; overflow: hidden; }
  body { display: flex; flex-direction: column; font: var(--vscode-font-size, 13px) var(--vscode-font-family, sans-serif);
         color: var(--vscode-foreground); background: var(--vscode-editor-background); }
  #bar { display: flex; gap: 4px; align-items: center; padding: 4px 8px;
         border-bottom: 1px solid var(--vscode-panel-border, #8884); }
  #bar button { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground);
                border: none; padding: 2px 8px; cursor: pointer; min-width: 28px; }
  #bar button:hover { background: var(--vscode-button-secondaryHoverBackground); }
  #level { min-width: 72px; text-align: center; }
  #view { flex: 1; overflow: auto; display: flex; }
  #view svg { margin: auto; padding: 8px; background: #fff; flex: none; }
`;

// The panel's HTML for `svg` (the server's output, which hookpipe escapes): only the
// script carrying this page's nonce may run, so nothing inside the SVG can.
function graphHtml(svg, nonce = crypto.randomBytes(16).toString("base64")) {
  return (
    "<!DOCTYPE html><html><head>" +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-${nonce}';">` +
    `<style>${STYLE}</style></head><body>` +
    '<div id="bar"><button id="fit" title="Fit to the panel (0)">Fit</button>' +
    '<button id="out" title="Zoom out (-, Ctrl+wheel)">&minus;</button><span id="level"></span>' +
    '<button id="in" title="Zoom in (+, Ctrl+wheel)">+</button>' +
    '<button id="actual" title="Actual size">100%</button></div>' +
    `<div id="view">${svg.replace(/^<\?xml[^>]*>/, "").replace(/<!DOCTYPE[^>]*>/i, "")}</div>` +
    `<script nonce="${nonce}">(${viewer.toString()})();</script>` +
    "</body></html>"
  );
}

module.exports = { graphHtml, viewer };
