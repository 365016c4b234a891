// Node ES module entry: the CommonJS build (which loads its wasm synchronously), with the same
// `init` default export and `initSync` as the web build so that one piece of code runs in both.
import pkg from "./workgate_browser.js";

// Every export of the CommonJS build (tests/api.test.mjs checks that none is missing).
export const { Subject, actions, isValidName, isValidPasswordLength, namePattern, passwordLength } = pkg;

/** Nothing to load in Node: the wasm was instantiated on import. Resolves at once. */
export default async function init() {}

/** Nothing to load in Node: the wasm was instantiated on import. Any argument is ignored. */
export function initSync() {}
