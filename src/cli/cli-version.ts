// The CLI's own version, sent as `User-Agent: capstan-cli/<version>` (SPEC §2.5).
import { packageVersion } from "../lib/package-version.js";

export function cliVersion(): string {
  return packageVersion();
}

export function userAgent(): string {
  return `capstan-cli/${cliVersion()}`;
}
