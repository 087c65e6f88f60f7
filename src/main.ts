// Process entry: config → server → graceful shutdown on SIGINT/SIGTERM.
import { type Config, ConfigError, loadConfig } from "./config.js";
import { AppError } from "./errors.js";
import { serve } from "./server.js";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`capstan: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let stop: () => Promise<void>;
  try {
    stop = await serve(config);
  } catch (error) {
    // Found at boot against the database (a signing secret that is not the one the database's
    // instances use): configuration all the same, so the same exit code.
    if (error instanceof ConfigError) {
      process.stderr.write(`capstan: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((error) => {
  const reason =
    error instanceof AppError
      ? `${error.type}: ${error.detail}`
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`capstan: failed to start: ${reason}\n`);
  process.exit(1);
});
