// CPU per request of the built Worker under local workerd (wrangler dev --local).
//
//   node wasm/worker/bench/cpu.mjs [N] [COST...]       e.g. node wasm/worker/bench/cpu.mjs 200 m=64,t=1,p=1 m=19456,t=2,p=1
//
// For each password-hash COST it starts `wrangler dev` on a fresh state directory in its own
// process group, warms up, then sends N sequential requests of each kind and reads the CPU time
// (user + system, /proc/PID/stat) that the group's workerd processes used meanwhile.
//
// Why this way: inside a Worker, Date.now() and performance.now() stand still while code runs
// (they only advance on I/O), so a Worker cannot time its own CPU. The figure here is an upper
// bound for what Cloudflare bills: it includes workerd's HTTP handling and the local KV and
// Durable Object simulators, which in production are I/O on other machines, not the Worker's
// CPU. "minus _info" subtracts a request that does no store work, leaving the engine's share
// plus the simulated storage. Needs `cargo xtask worker-dev` (or worker-build) to have built
// wasm/worker/build first, and `npm ci`.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

const crateDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(crateDir, "../..");
const [n = "200", ...costsArg] = process.argv.slice(2);
const N = Number(n);
const costs = costsArg.length ? costsArg : ["m=64,t=1,p=1", "m=4096,t=1,p=1", "m=19456,t=2,p=1"];
const TICK_MS = 1000 / 100; // USER_HZ

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** CPU milliseconds used so far by the workerd processes of process group `pgid`. */
function groupCpuMs(pgid) {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields after comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
    if (Number(f[2]) === pgid && comm.startsWith("workerd")) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * TICK_MS;
}

async function measure(cost) {
  const port = await freePort();
  const inspector = await freePort();
  const state = mkdtempSync(join(tmpdir(), "workgate-cpu-"));
  const child = spawn(
    join(root, "node_modules/.bin/wrangler"),
    ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector),
     "--persist-to", state, "--show-interactive-dev-session=false", "--log-level", "error",
     "--var", `WORKGATE_PASSWORD_COST:${cost}`],
    { cwd: crateDir, detached: true, stdio: "ignore",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${base}/api/_info`)).ok) break; } catch {}
      if (i > 300) throw new Error("wrangler did not start");
      await new Promise((r) => setTimeout(r, 200));
    }
    const key = { "X-Argilla-Api-Key": "argilla.apikey" };
    const login = () => fetch(`${base}/api/security/token`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "username=argilla&password=1234",
    });
    const token = (await (await login()).json()).access_token;
    const kinds = {
      "_info (no auth, no store)": () => fetch(`${base}/api/_info`),
      "/api/me by API key": () => fetch(`${base}/api/me`, { headers: key }),
      "/api/me by bearer token": () => fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } }),
      "login (right password)": login,
    };
    const out = {};
    for (const [name, send] of Object.entries(kinds)) {
      for (let i = 0; i < 20; i++) await (await send()).arrayBuffer(); // warm up (JIT tiers)
      const before = groupCpuMs(child.pid);
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        const r = await send();
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${name}: status ${r.status}`);
      }
      out[name] = { cpu: (groupCpuMs(child.pid) - before) / N, wall: (performance.now() - t0) / N };
    }
    const baseline = out["_info (no auth, no store)"].cpu;
    console.log(`\nWORKGATE_PASSWORD_COST=${cost}, ${N} requests each (ms per request)`);
    for (const [name, { cpu, wall }] of Object.entries(out)) {
      console.log(`  ${name.padEnd(28)} workerd CPU ${cpu.toFixed(2).padStart(7)}  minus _info ${(cpu - baseline).toFixed(2).padStart(7)}  wall ${wall.toFixed(2).padStart(7)}`);
    }
  } finally {
    try { process.kill(-child.pid, "SIGTERM"); } catch {}
    await new Promise((r) => setTimeout(r, 1500));
    try { process.kill(-child.pid, "SIGKILL"); } catch {}
    rmSync(state, { recursive: true, force: true });
  }
}

for (const cost of costs) await measure(cost);
