export * from "./workgate_browser.js";
/** Nothing to load in Node: the wasm was instantiated on import. Resolves at once. */
export default function init(): Promise<void>;
/** Nothing to load in Node: the wasm was instantiated on import. Any argument is ignored. */
export function initSync(module?: { module: BufferSource | WebAssembly.Module } | BufferSource | WebAssembly.Module): void;
