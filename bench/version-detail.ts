// The largest version detail a publish can produce: 10,000 files (the entry cap), 2,000 of them
// agents (the component cap). Publishes it once on a fresh SQLite app, then reads the detail 20
// times and prints the time per read and its size: each read parses the stored JSON and serialises
// the answer on the event loop, so this is how long one such read holds the server.
//
//   npx tsx bench/version-detail.ts
import { buildTarGz, type TarEntry } from "../test/helpers/tar-builder.js";
import { bearer, buildTestApp } from "../test/helpers/test-app.js";

const READS = 20;

async function main(): Promise<void> {
  const entries: TarEntry[] = [
    {
      name: "capability.yaml",
      content: 'schema: 1\nname: largest\nversion: "1.0.0"\ndescription: Largest.\n',
    },
  ];
  for (let i = 0; i < 2_000; i++) {
    entries.push({
      name: `agents/agent-${i}.md`,
      content: `---\nname: agent-${i}\ndescription: Agent number ${i} of the largest capability.\nmodel: some-model\n---\nBody ${i}\n`,
    });
  }
  for (let i = 0; entries.length < 9_999; i++) {
    entries.push({ name: `docs/section-${Math.floor(i / 100)}/page-${i}.md`, content: `page ${i}\n` });
  }
  const t = await buildTestApp();
  try {
    const published = await t.app.inject({
      method: "POST",
      url: "/api/v1/org/default/capabilities",
      headers: { ...bearer(t.adminKey), "content-type": "application/gzip" },
      payload: buildTarGz(entries),
    });
    if (published.statusCode !== 201) throw new Error(`publish answered ${published.statusCode}`);
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < READS; i++) {
      const started = performance.now();
      const res = await t.app.inject({
        method: "GET",
        url: "/api/v1/org/default/capabilities/largest/1.0.0",
        headers: bearer(t.adminKey),
      });
      times.push(performance.now() - started);
      bytes = res.rawPayload.length;
      if (res.statusCode !== 200) throw new Error(`detail answered ${res.statusCode}`);
    }
    times.sort((a, b) => a - b);
    const files = JSON.parse(published.body).file_manifest.length;
    console.log(
      `version detail on Node ${process.versions.node}: ${files} files, 2000 components, ` +
        `${(bytes / 1024).toFixed(0)} KiB`,
    );
    console.log(
      `  per read  median ${times[READS / 2].toFixed(1)} ms   max ${times[READS - 1].toFixed(1)} ms`,
    );
  } finally {
    await t.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
