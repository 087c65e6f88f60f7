// Starts the server: database → migrate → bootstrap → listen; returns a graceful stop.
import { buildApp } from "./app.js";
import { createDeps, type DepsOptions } from "./composition.js";
import type { Config } from "./config.js";
import { migrateToLatest, withBootLock } from "./db/migrate.js";
import { tuneHeapForServing } from "./lib/heap-tuning.js";
import { startBlobCollector, sweepTemporaryFiles } from "./services/blob-collector.js";
import { bootstrapIfEmpty, warnIfBootstrapTokenIgnored } from "./services/bootstrap.js";
import { checkSecretsKeyring } from "./services/secret-service.js";
import { checkSigningSecret } from "./services/signed-urls.js";

/** `options`: what createDeps takes; a test passes a logger that captures the boot's logs. */
export async function serve(config: Config, options: DepsOptions = {}): Promise<() => Promise<void>> {
  tuneHeapForServing();
  const { deps, close } = await createDeps(config, options);
  const { db, dialect, logger } = deps;
  // One instance migrates and bootstraps; the others wait for it (SPEC §1).
  const boot = await withBootLock(
    db,
    dialect,
    async () => {
      await migrateToLatest(db, {
        pauseInMigration: config.testPauseInMigration,
        onPause: (migration) => logger.warn(`CAPSTAN_TEST_PAUSE_IN_MIGRATION: paused inside ${migration}`),
      });
      const bootstrapped = await bootstrapIfEmpty(deps);
      // Refuses to boot (ConfigError) when this instance's signing secret is not the database's.
      const secret = await checkSigningSecret(deps, config.rotateSigningSecret);
      if (secret === "rotated") {
        logger.warn(
          "CAPSTAN_ROTATE_SIGNING_SECRET: this instance's signing secret is now the database's; download URLs signed before no longer verify. Start the other instances with the same CAPSTAN_SIGNING_SECRET, and unset CAPSTAN_ROTATE_SIGNING_SECRET.",
        );
      }
      // Refuses to boot (ConfigError) without a key in scale mode, or with a key that is not the
      // one the database's secrets were encrypted with (SPEC §11).
      await checkSecretsKeyring(deps);
      return bootstrapped;
    },
    config.migrationLockTimeoutMs,
  ).catch(async (error) => {
    await close();
    throw error;
  });
  await warnIfBootstrapTokenIgnored(deps, boot !== null);
  if (boot?.generatedKey) {
    // Printed once, on stdout, outside the JSON logs: it is the only time the key is shown.
    process.stdout.write(
      `\nCapstan bootstrap API key for admin@localhost (shown once, store it now):\n\n  ${boot.generatedKey}\n\n`,
    );
  }
  // Before the first request: what a killed process was writing is of no use to anyone now.
  await sweepTemporaryFiles(deps, { atBoot: true, nowMs: Date.now() });
  const app = await buildApp(deps);
  const url = await app.listen({ host: config.host, port: config.port });
  // CAPSTAN_PUBLIC_URL defaults to where the server listens, which with CAPSTAN_PORT=0 is known only
  // now: signed download URLs must point at the real port, not at port 0.
  if (config.publicUrl === null) deps.config = Object.freeze({ ...config, publicUrl: url });
  logger.info({ url, database: dialect }, `Capstan listening on ${url}`);
  const stopCollector = startBlobCollector(deps, logger);

  let closing: Promise<void> | null = null;
  return () => {
    closing ??= (async () => {
      await app.close();
      await stopCollector();
      await close();
    })();
    return closing;
  };
}
