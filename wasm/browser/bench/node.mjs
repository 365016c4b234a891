// Cost of one can() call from JavaScript in Node, through the built package.
//   cargo xtask build-web && node wasm/browser/bench/node.mjs
import init, { Subject } from "../pkg/node/index.mjs";
import { measure } from "./measure.js";

await init();
console.log(`node ${process.version}: best of 5 rounds of 1,000,000 calls`);
for (const r of measure(Subject)) console.log(`  ${r.case.padEnd(28)} ${r.nsPerCall} ns/call`);
