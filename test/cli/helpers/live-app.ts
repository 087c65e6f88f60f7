// The real app, in-process, listening on a local port: signed download URLs need a real address,
// so the CLI (run in-process too) talks to it over HTTP as it would to any server.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildTestApp, type TestApp, type TestAppOptions } from "../../helpers/test-app.js";

export interface LiveApp {
  t: TestApp;
  url: string;
  /** A temporary directory for capabilities, sync directories and the profile file. */
  scratch: string;
  /** CAPSTAN_* variables that point the CLI at the app as the bootstrap admin. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** `serverEnv`: CAPSTAN_* variables for the server (e.g. CAPSTAN_MIN_CLIENT_VERSION). */
export async function startLiveApp(
  serverEnv: Record<string, string> = {},
  appOptions: Omit<TestAppOptions, "env"> = {},
): Promise<LiveApp> {
  // Port 0: the system picks a free port as the socket binds; picking one first and listening on it
  // later raced with the other test files. The public URL is known only then, as in serve().
  const t = await buildTestApp({ ...appOptions, env: serverEnv });
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  if (serverEnv.CAPSTAN_PUBLIC_URL === undefined) {
    t.deps.config = Object.freeze({ ...t.deps.config, publicUrl: url });
    t.config = t.deps.config;
  }
  const scratch = await mkdtemp(path.join(tmpdir(), "capstan-cli-"));
  return {
    t,
    url,
    scratch,
    env: {
      CAPSTAN_CONFIG: path.join(scratch, "config.json"),
      CAPSTAN_URL: url,
      CAPSTAN_TOKEN: t.adminKey,
      CAPSTAN_ORG: "default",
      CAPSTAN_WORKSPACE: "main",
    },
    async close() {
      await t.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** Writes a small valid capability (one agent, flags `read-only` default on and `verbose`) and returns its directory. */
export async function writeCapability(
  root: string,
  name: string,
  version: string,
  extraFiles: Record<string, string> = {},
): Promise<string> {
  const dir = path.join(root, "src", `${name}-${version}`);
  const files: Record<string, string> = {
    "capability.yaml": [
      "schema: 1",
      `name: ${name}`,
      `version: ${version}`,
      `description: ${name} for CLI tests`,
      "flags:",
      "  read-only:",
      "    description: Hide mutating tools",
      "    default: true",
      "  verbose:",
      "    description: Log every call",
      "",
    ].join("\n"),
    "agents/helper.md": `---\nname: helper\n---\n${name} ${version}\n`,
    ...extraFiles,
  };
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  return dir;
}
