export * from "../web/workgate_browser.js";
/** Nothing to load in workerd: the wasm was instantiated on import. Resolves at once. */
export default function init(): Promise<void>;
