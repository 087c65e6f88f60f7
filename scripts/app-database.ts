// Shared by the tests and the benchmarks (test/helpers/database.ts re-exports it).
// Which database a test app gets. SQLite: a fresh file per app. PostgreSQL (when the runner sets
// CAPSTAN_TEST_DIALECT=postgres and CAPSTAN_TEST_DATABASE_URL): a fresh database per app, created
// here and dropped on close, so files never see each other's rows.
//
// Fresh, but already migrated: a copy of a template that holds every migration (on PostgreSQL
// `create database … template …`, on SQLite a file copy), not an empty database that each app
// then migrates at boot. Migrating 0001–0011 took ~300 ms of a PostgreSQL test app's ~375 ms start
// (and ~80 ms on SQLite), for every app of the suite. The template is keyed by a digest of the
// migration code, so an added or edited migration makes a new template and a stale one is never
// used. The first test process that needs it builds it with the project's own migrateToLatest;
// the others wait for it (PostgreSQL: an advisory lock) or build their own copy of the same file
// (SQLite: renamed into place). The app still migrates at boot, and finds nothing to do. Tests of
// migrations themselves ask for an `empty` database.
import { createHash, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { connectDatabase } from "../src/db/connect.js";
import { migrateToLatest } from "../src/db/migrate.js";

export interface TestDatabase {
  /** CAPSTAN_DATABASE_URL for the app. */
  url: string;
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /**
   * No migration applied (no SQLite file at all): for the tests of migrations themselves (one run
   * on rows written before it, one interrupted, instances migrating at once).
   */
  empty?: boolean;
}

export const testDialect = (): "sqlite" | "postgres" =>
  process.env.CAPSTAN_TEST_DIALECT === "postgres" && process.env.CAPSTAN_TEST_DATABASE_URL
    ? "postgres"
    : "sqlite";

export async function createTestDatabase(
  dataDir: string,
  options: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  if (testDialect() === "sqlite") {
    const file = path.join(dataDir, "capstan.db");
    if (!options.empty) {
      mkdirSync(dataDir, { recursive: true });
      copyFileSync(await sqliteTemplate(), file);
    }
    return { url: `sqlite:${file}`, drop: async () => {} };
  }
  const adminUrl = process.env.CAPSTAN_TEST_DATABASE_URL!;
  const name = `capstan_test_${randomBytes(6).toString("hex")}`;
  if (options.empty) {
    await withAdmin(adminUrl, (client) => client.query(`create database ${name}`));
  } else {
    await createFromTemplate(adminUrl, name);
  }
  return {
    url: databaseUrl(adminUrl, name),
    drop: () => withAdmin(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`)),
  };
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TEMPLATE_PREFIX = "capstan_template_";
/** Arbitrary, and unlike the server's boot lock: "tmpl" in ASCII. Taken in the admin database. */
const TEMPLATE_LOCK_KEY = 0x746d706c;
/**
 * Another digest's template is dropped once it is this old: a test run of another checkout on
 * the same server may still be copying a newer one, but not an hour later.
 */
const STALE_MS = 60 * 60 * 1000;

/** The template of this process's migrations, once known to exist (per admin URL). */
const templates = new Map<string, Promise<string>>();

async function createFromTemplate(adminUrl: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let template = templates.get(adminUrl);
    if (!template) {
      template = ensureTemplate(adminUrl);
      templates.set(adminUrl, template);
      template.catch(() => templates.delete(adminUrl));
    }
    const templateName = await template;
    try {
      await withAdmin(adminUrl, (client) => client.query(`create database ${name} template ${templateName}`));
      return;
    } catch (error) {
      // 3D000: the template is gone (another checkout's run dropped it as stale): build it again.
      if ((error as { code?: string }).code !== "3D000" || attempt > 1) throw error;
      templates.delete(adminUrl);
    }
  }
}

/** The migrated template's name, after building it if no process has yet. */
async function ensureTemplate(adminUrl: string): Promise<string> {
  const name = `${TEMPLATE_PREFIX}${migrationDigest()}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    if (await isTemplate(client, name)) return name;
    // Session lock: it goes with the connection if this process dies while building.
    await client.query("select pg_advisory_lock($1)", [TEMPLATE_LOCK_KEY]);
    try {
      if (await isTemplate(client, name)) return name;
      await dropStaleTemplates(client, name);
      // A database of that name that is not a template yet was left by a builder that died.
      await client.query(`drop database if exists ${name} with (force)`);
      await client.query(`create database ${name}`);
      const handle = connectDatabase({ dialect: "postgres", url: databaseUrl(adminUrl, name) });
      try {
        await migrateToLatest(handle.db);
      } finally {
        // Postgres copies no database that has a connection open.
        await handle.close();
      }
      // Marked a template only once complete, which is what the check above looks for; closed to
      // connections so that none can ever hold up a copy.
      await client.query(`comment on database ${name} is '${new Date().toISOString()}'`);
      await client.query(`alter database ${name} with is_template true allow_connections false`);
      return name;
    } finally {
      await client.query("select pg_advisory_unlock($1)", [TEMPLATE_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

async function isTemplate(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query("select 1 from pg_database where datname = $1 and datistemplate", [
    name,
  ]);
  return rowCount === 1;
}

/** Best effort: templates of other migrations (built before a migration was added or edited). */
async function dropStaleTemplates(client: pg.Client, keep: string): Promise<void> {
  const { rows } = await client.query<{ datname: string; built: string | null }>(
    `select datname, shobj_description(oid, 'pg_database') as built from pg_database
     where datname like $1 and datname <> $2`,
    [`${TEMPLATE_PREFIX}%`, keep],
  );
  for (const { datname, built } of rows) {
    const age = Date.now() - Date.parse(built ?? "");
    if (built !== null && !(age > STALE_MS)) continue;
    try {
      await client.query(`alter database ${datname} with is_template false`);
      await client.query(`drop database if exists ${datname} with (force)`);
    } catch {
      // Another process dropped it first, or a copy of it is running: next time.
    }
  }
}

const SQLITE_TEMPLATES = path.join(ROOT, ".cache", "test-templates");
let sqliteTemplateFile: Promise<string> | undefined;

/**
 * The migrated SQLite file to copy, built once per migration digest into .cache/ by the first
 * process that needs it. Concurrent builders each migrate a private file and rename it into
 * place: the renames replace one complete file with another, never a half-written one.
 */
function sqliteTemplate(): Promise<string> {
  sqliteTemplateFile ??= (async () => {
    const digest = migrationDigest();
    const file = path.join(SQLITE_TEMPLATES, `sqlite-${digest}.db`);
    if (existsSync(file)) return file;
    mkdirSync(SQLITE_TEMPLATES, { recursive: true });
    const scratch = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
    const handle = connectDatabase({ dialect: "sqlite", path: scratch });
    try {
      await migrateToLatest(handle.db);
    } finally {
      // Closing checkpoints the write-ahead log into the file and removes it: one file to copy.
      await handle.close();
    }
    renameSync(scratch, file);
    for (const other of readdirSync(SQLITE_TEMPLATES)) {
      const stale = path.join(SQLITE_TEMPLATES, other);
      try {
        if (!other.startsWith(`sqlite-${digest}`) && Date.now() - statSync(stale).mtimeMs > STALE_MS) {
          rmSync(stale, { force: true });
        }
      } catch {
        // Removed by another process meanwhile.
      }
    }
    return file;
  })();
  sqliteTemplateFile.catch(() => {
    sqliteTemplateFile = undefined;
  });
  return sqliteTemplateFile;
}

/**
 * A digest of the code that migrates: src/db/migrate.ts and every module it imports, transitively
 * (the migrations, and what they import).
 */
function migrationDigest(): string {
  const hash = createHash("sha256");
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    hash.update(`${path.relative(ROOT, file)}\0${source}\0`);
    for (const [, relative] of source.matchAll(/from "(\.\.?\/[^"]+)\.js"/g)) {
      visit(path.resolve(path.dirname(file), `${relative}.ts`));
    }
  };
  const start = path.join(ROOT, "src", "db", "migrate.ts");
  // Read from the checkout (the compiled test tree keeps this file's own location): without the
  // sources the digest would name no migration at all, and a stale template could be used.
  if (!existsSync(start)) throw new Error(`no ${start} to digest the migrations from`);
  visit(start);
  return hash.digest("hex").slice(0, 16);
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin(url: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
