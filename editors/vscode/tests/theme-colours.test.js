// Every scope the grammar gives a word is one that VS Code's default themes colour:
// Default Light Modern and Default Dark Modern (tests/themes/, with the themes they
// include). Punctuation and operators may stay in the editor's foreground.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");

const THEMES = path.join(__dirname, "themes");
const grammar = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "syntaxes", "pipe.tmLanguage.json"), "utf8"));

// The theme's token rules, its included themes' first: [selector, foreground] in order.
function rules(file) {
  const theme = JSON.parse(fs.readFileSync(path.join(THEMES, file), "utf8"));
  const own = [];
  for (const rule of theme.tokenColors || []) {
    const scopes = Array.isArray(rule.scope) ? rule.scope : String(rule.scope || "").split(",");
    for (const scope of scopes) {
      if (scope.trim() && rule.settings && rule.settings.foreground) own.push([scope.trim(), rule.settings.foreground]);
    }
  }
  return [...(theme.include ? rules(path.basename(theme.include)) : []), ...own];
}

// TextMate's choice for a scope alone (no parent scopes): the selector that is a dotted
// prefix of it with the most segments; among equals, the later rule.
function foreground(themeRules, scope) {
  let best = null;
  for (const [selector, colour] of themeRules) {
    if (selector.includes(" ") || !(scope === selector || scope.startsWith(`${selector}.`))) continue;
    const depth = selector.split(".").length;
    if (!best || depth >= best.depth) best = { depth, colour, selector };
  }
  return best;
}

function scopes(node, found = new Set()) {
  if (Array.isArray(node)) node.forEach((n) => scopes(n, found));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "name" && typeof value === "string" && value.endsWith(".pipe")) found.add(value);
      else scopes(value, found);
    }
  }
  return found;
}

const named = [...scopes(grammar.repository)].filter((s) => !/^(punctuation|keyword\.operator)\./.test(s)).sort();

for (const [label, file] of [["Default Light Modern", "light_modern.json"], ["Default Dark Modern", "dark_modern.json"]]) {
  const theme = rules(file);

  test(`${label} colours every scope the grammar names`, () => {
    const uncoloured = named.filter((s) => !foreground(theme, s));
    assert.deepStrictEqual(uncoloured, []);
  });

  test(`${label}: scope names, units and hook names stand out from plain names`, () => {
    const plain = foreground(theme, "variable.other.pipe").colour;
    for (const scope of ["support.type.scope.pipe", "keyword.other.unit.pipe", "entity.name.function.hook.pipe"]) {
      assert.ok(named.includes(scope), `the grammar uses ${scope}`);
      assert.notStrictEqual(foreground(theme, scope).colour, plain, scope);
    }
  });
}

test("the scopes the old grammar used are ones the themes leave uncoloured (the check can fail)", () => {
  for (const file of ["light_modern.json", "dark_modern.json"]) {
    for (const scope of ["entity.name.section.scope.pipe", "support.constant.unit.pipe"]) {
      assert.strictEqual(foreground(rules(file), scope), null, `${file} ${scope}`);
    }
  }
});
