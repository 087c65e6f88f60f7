// SPEC §4.1: "A publish never blocks the server". A bundle whose inspection takes seconds of CPU is
// published over a real socket while /healthz and a runtime's binding list are asked again and
// again; both must keep answering before the publish does, and the event loop of the process that
// serves them must never stall for long (1 s: ten times the 100 ms a request may hold it).
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, test } from "node:test";
import { buildTarGz, type TarEntry } from "../helpers/tar-builder.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";
const MAX_STALL_MS = 1_000;

interface PublishBody {
  type?: string;
  errors?: { type: string }[];
  component_counts?: { agents: number; tools: number };
}

/** 1,000 agents with frontmatter and a 7 MB Python file: seconds of analysis, all of it valid. */
function heavyBundle(): Buffer {
  const entries: TarEntry[] = [
    { name: "capability.yaml", content: 'schema: 1\nname: heavy\nversion: "1.0.0"\ndescription: Heavy.\n' },
  ];
  for (let i = 0; i < 1_000; i++) {
    entries.push({
      name: `agents/agent-${i}.md`,
      content: `---\nname: agent-${i}\ndescription: Agent ${i} does things.\nmodel: m\n---\nBody ${i}\n`,
    });
  }
  entries.push({ name: "tools/big.py", content: bigPython() });
  return buildTarGz(entries);
}

function bigPython(lines = 200_000): string {
  return Array.from({ length: lines }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`).join("");
}

/** A 14 MB Python file to scan for tools, and then a refusal: two agents with one name. */
function slowRefusedBundle(): Buffer {
  const python = bigPython(400_000);
  return buildTarGz([
    { name: "capability.yaml", content: 'schema: 1\nname: slow\nversion: "1.0.0"\ndescription: Slow.\n' },
    { name: "tools/big.py", content: python },
    { name: "agents/a.md", content: "---\nname: twin\n---\nOne.\n" },
    { name: "agents/b.md", content: "---\nname: twin\n---\nTwo.\n" },
  ]);
}

describe("a publish keeps the server answering", () => {
  let t: TestApp;
  let base: string;
  let bindingsUrl: string;
  before(async () => {
    t = await buildTestApp();
    base = await t.app.listen({ host: "127.0.0.1", port: 0 });
    bindingsUrl = `${base}/api/v1/org/default/ws/main/runtimes/${t.runtimeId}/capabilities`;
  });
  after(() => t.close());

  async function publishWhileReading(archive: Buffer) {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    let publishDone = false;
    const answered = { healthz: 0, bindings: 0 };
    const poll = async (url: string, kind: keyof typeof answered, headers: Record<string, string>) => {
      while (!publishDone) {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        assert.equal(res.status, 200);
        if (!publishDone) answered[kind] += 1;
        // A pause between reads: answering them back to back would only slow the publish down.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    delay.enable();
    const publishing = fetch(`${base}${CAP}`, {
      method: "POST",
      headers: { ...bearer(t.adminKey), "content-type": "application/gzip" },
      body: new Uint8Array(archive),
    }).then(async (res) => {
      const body = (await res.json()) as PublishBody;
      publishDone = true;
      return { status: res.status, body };
    });
    const [publish] = await Promise.all([
      publishing,
      poll(`${base}/healthz`, "healthz", {}),
      poll(bindingsUrl, "bindings", bearer(t.adminKey)),
    ]);
    delay.disable();
    return { publish, answered, maxStallMs: delay.max / 1e6 };
  }

  test("a heavy but valid bundle: health checks and binding reads are answered during the publish", async () => {
    const { publish, answered, maxStallMs } = await publishWhileReading(heavyBundle());
    assert.equal(publish.status, 201, JSON.stringify(publish.body).slice(0, 500));
    assert.equal(publish.body.component_counts?.agents, 1_000);
    assert.ok(answered.healthz >= 3, `healthz answered ${answered.healthz} times during the publish`);
    assert.ok(answered.bindings >= 3, `binding list answered ${answered.bindings} times during the publish`);
    assert.ok(maxStallMs < MAX_STALL_MS, `the event loop stalled for ${maxStallMs.toFixed(0)} ms`);
  });

  test("a slow bundle that is refused in the end: the server answers meanwhile, then a clear 422", async () => {
    const { publish, answered, maxStallMs } = await publishWhileReading(slowRefusedBundle());
    assert.equal(publish.status, 422, JSON.stringify(publish.body).slice(0, 500));
    assert.equal(publish.body.type, "validation_error");
    assert.ok(publish.body.errors?.some((item) => item.type === "manifest.duplicate_component"));
    assert.ok(answered.healthz >= 3, `healthz answered ${answered.healthz} times during the publish`);
    assert.ok(answered.bindings >= 3, `binding list answered ${answered.bindings} times during the publish`);
    assert.ok(maxStallMs < MAX_STALL_MS, `the event loop stalled for ${maxStallMs.toFixed(0)} ms`);
  });
});
