// Node CommonJS entry (`require("workgate-browser")`, Jest's default): the CommonJS build,
// which loads its wasm synchronously, with the web build's `init` and `initSync` as no-ops so
// that one piece of code runs in both.
"use strict";
const pkg = require("./workgate_browser.js");

module.exports = {
  ...pkg,
  /** Nothing to load in Node: the wasm was instantiated on require. Resolves at once. */
  default: async function init() {},
  /** Nothing to load in Node: the wasm was instantiated on require. Any argument is ignored. */
  initSync() {},
};
