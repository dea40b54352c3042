// The graph panel's page in a real browser (Debian's headless Chromium): the SVG is
// fitted to the window, never enlarged past 100%, and keeps its aspect ratio.
// `npm test` runs this; CHROMIUM names the browser when it is not `chromium` on PATH.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { graphHtml } = require("../graph-view");

function chromium() {
  const name = process.env.CHROMIUM || "chromium";
  try {
    return execFileSync("sh", ["-c", `command -v "${name}"`]).toString().trim();
  } catch (e) {
    throw new Error(`${name} not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM`);
  }
}

// The page rendered in a `width` x `height` window, as Chromium's DOM after the script ran.
function rendered(svg, width, height) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookpipe-graph-"));
  try {
    const file = path.join(dir, "graph.html");
    fs.writeFileSync(file, graphHtml(svg, "test-nonce"));
    const dom = execFileSync(chromium(), [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", `--user-data-dir=${dir}/profile`,
      `--window-size=${width},${height}`, "--virtual-time-budget=2000", "--dump-dom", `file://${file}`,
    ], { stdio: ["ignore", "pipe", "ignore"], timeout: 60000 }).toString();
    const style = /<svg[^>]*style="width: ([\d.]+)px; height: ([\d.]+)px;?"/.exec(dom);
    const level = /<span id="level">([^<]*)<\/span>/.exec(dom);
    assert.ok(style, `the script sized the SVG: ${dom.slice(0, 400)}`);
    return { width: parseFloat(style[1]), height: parseFloat(style[2]), level: level && level[1], dom };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const svg = (w, h) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<svg width="${w}pt" height="${h}pt" viewBox="0.00 0.00 ${w}.00 ${h}.00" ` +
  `xmlns="http://www.w3.org/2000/svg"><rect width="${w}" height="${h}" fill="#cde"/></svg>`;

test("a graph taller than the panel is scaled down to fit it", () => {
  const page = rendered(svg(1500, 3000), 800, 600); // 2000 x 4000 px at 100%
  assert.ok(page.height <= 600 && page.width <= 800, JSON.stringify(page));
  // the window's height less the browser's own bars, the toolbar and the margins
  assert.ok(page.height > 0.6 * 600, `fills the panel's height: ${page.height}`);
  assert.ok(Math.abs(page.width / page.height - 0.5) < 0.01, "aspect ratio kept");
  assert.match(page.level, /^\d+% \(fit\)$/);
  assert.ok(!/<svg[^>]*\swidth="/.test(page.dom), "Graphviz's fixed size is dropped");
});

test("a small graph stays at its own size", () => {
  const page = rendered(svg(150, 75), 800, 600); // 200 x 100 px
  assert.deepStrictEqual([Math.round(page.width), Math.round(page.height), page.level], [200, 100, "100% (fit)"]);
});

test("only the page's own script may run", () => {
  const html = graphHtml(svg(10, 10) + "<script>alert(1)</script>", "n0nce");
  assert.match(html, /script-src 'nonce-n0nce'/);
  assert.strictEqual((html.match(/<script nonce="n0nce">/g) || []).length, 1);
  assert.ok(!html.includes("<?xml"), "the XML declaration is dropped (it is not valid inside HTML)");
});
