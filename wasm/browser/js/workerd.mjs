// workerd (Cloudflare Workers) entry, chosen by the `workerd` export condition that wrangler's
// bundler sets: the web build, instantiated on import from the wasm module the bundler links
// in. workerd cannot fetch the wasm by URL as the web build's `init()` would.
import module from "../web/workgate_browser_bg.wasm";
import { initSync } from "../web/workgate_browser.js";

initSync({ module });

// `initSync` again is a no-op: the wasm is instantiated once.
export * from "../web/workgate_browser.js";

/** Nothing to load in workerd: the wasm was instantiated on import. Resolves at once. */
export default async function init() {}
