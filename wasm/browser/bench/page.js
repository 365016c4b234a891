// The browser half of the benchmark: loads the web build (--target web) and measures.
import init, { Subject } from "../pkg/web/workgate_browser.js";
import { measure } from "./measure.js";

await init();
const results = measure(Subject);
document.getElementById("out").textContent = results.map((r) => `${r.case.padEnd(28)} ${r.nsPerCall} ns/call`).join("\n");
window.benchResults = results;
document.body.dataset.done = "1";
