// Node ES module entry: the CommonJS build (which loads its wasm synchronously), with the same
// `init` default export as the web build so that one piece of code runs in both.
import pkg from "./workgate_browser.js";

export const { Subject, actions } = pkg;

/** Nothing to load in Node: the wasm was instantiated on import. Resolves at once. */
export default async function init() {}
