// 426 for `capstan-cli/<semver>` user agents older than CAPSTAN_MIN_CLIENT_VERSION (SPEC §2.5).
import type { IncomingHttpHeaders } from "node:http";
import { compareSemver, parseSemver } from "../domain/semver.js";
import { AppError } from "../errors.js";

const CLI_AGENT = /^capstan-cli\/(\S+)/;

/** The version of a Capstan CLI older than `minimum` (or unreadable); null for any other client. */
export function outdatedClientVersion(headers: IncomingHttpHeaders, minimum: string | null): string | null {
  if (minimum === null) return null;
  const agent = headers["user-agent"];
  const match = typeof agent === "string" ? CLI_AGENT.exec(agent) : null;
  if (!match) return null;
  const version = match[1];
  return parseSemver(version) === null || compareSemver(version, minimum) < 0 ? version : null;
}

export function checkClientVersion(headers: IncomingHttpHeaders, minimum: string | null): void {
  const version = outdatedClientVersion(headers, minimum);
  if (version !== null) {
    throw new AppError(
      "upgrade_required_error",
      `capstan-cli ${version} is no longer supported; upgrade to ${minimum} or later (npm install -g capstan@latest)`,
    );
  }
}
