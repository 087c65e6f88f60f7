// 426 for `capstan-cli/<semver>` user agents older than CAPSTAN_MIN_CLIENT_VERSION (SPEC §2.5).
import type { FastifyRequest } from "fastify";
import { compareSemver, parseSemver } from "../domain/semver.js";
import { AppError } from "./errors.js";

const CLI_AGENT = /^capstan-cli\/(\S+)/;

export function checkClientVersion(request: FastifyRequest, minimum: string | null): void {
  if (minimum === null) return;
  const agent = request.headers["user-agent"];
  const match = typeof agent === "string" ? CLI_AGENT.exec(agent) : null;
  if (!match) return;
  const version = match[1];
  if (parseSemver(version) === null || compareSemver(version, minimum) < 0) {
    throw new AppError(
      "upgrade_required_error",
      `capstan-cli ${version} is no longer supported; upgrade to ${minimum} or later (npm install -g capstan@latest)`,
    );
  }
}
