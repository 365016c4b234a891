// The measurement shared by the Node and browser benchmarks: the cost of one
// `subject.can(action, resource)` call from JavaScript, for a workspace action (the common
// case: an object resource and a string), a user action and an instance action.

export function measure(Subject, { calls = 1_000_000, rounds = 5 } = {}) {
  const subject = new Subject({ username: "ann", role: "annotator", workspaces: ["ann", "team", "more", "still-more"] });
  const cases = [
    ["readWorkspace {workspace}", () => subject.can("readWorkspace", { workspace: "team" })],
    ["rotateApiKey {user}", () => subject.can("rotateApiKey", { user: "ann" })],
    ["createUser (no resource)", () => subject.can("createUser")],
  ];
  const results = [];
  for (const [name, call] of cases) {
    for (let i = 0; i < 10_000; i++) call(); // warm up (JIT)
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      let yes = 0;
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) if (call()) yes++;
      const ns = ((performance.now() - t0) * 1e6) / calls;
      if (yes !== 0 && yes !== calls) throw new Error("inconsistent answers");
      best = Math.min(best, ns);
    }
    results.push({ case: name, nsPerCall: Math.round(best) });
  }
  subject.free();
  return results;
}
