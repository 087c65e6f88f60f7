// The runtime's own check of capability signatures (SPEC §14), before anything is downloaded or
// unpacked. The server says which signatures count; the sync does not take its word for it: every
// envelope it is sent must verify, over DSSE's PAE, with one of the trusted keys of the org that
// owns the capability, and must name exactly this bundle (`<org>/<name>@<version>` and the
// `artifact_digest` the download is then checked against). A runtime whose policy requires
// signatures refuses a capability with none. The whole set is refused on the first problem, and DIR
// stays as it was.
import { envelopeFrom, SignatureError, type TrustedKey, verifyEnvelope } from "../../domain/dsse.js";
import type { Resolved, ResolvedEntry } from "../api-types.js";
import { CliError } from "../cli-errors.js";

const MAX_TRUSTED_KEYS = 1000;
const MAX_SIGNATURES_PER_CAPABILITY = 32;

/** `/org/{org}/ws/…` → `{org}`: bare capability names belong to the runtime's own org. */
export function runtimeOrgOf(runtimePath: string): string {
  const match = /^\/org\/([^/]+)\//.exec(runtimePath);
  if (!match) throw new CliError(`cannot tell the runtime's organization from ${runtimePath}`);
  return match[1];
}

export function verifyResolvedSignatures(resolved: Resolved, runtimeOrg: string): void {
  const body = resolved as Partial<Resolved>;
  const requireSigned = body.policy?.require_signed === true;
  const keysByOrg = trustedKeysByOrg(body.trusted_keys);
  for (const entry of resolved.capabilities) {
    const slash = entry.name.indexOf("/");
    const org = slash === -1 ? runtimeOrg : entry.name.slice(0, slash);
    const capability = slash === -1 ? entry.name : entry.name.slice(slash + 1);
    const envelopes = (entry as Partial<ResolvedEntry>).signatures ?? [];
    if (!Array.isArray(envelopes) || envelopes.length > MAX_SIGNATURES_PER_CAPABILITY) {
      throw refuse(entry, "its signature list is malformed");
    }
    if (envelopes.length === 0) {
      if (requireSigned)
        throw refuse(entry, "it is not signed, and this runtime's policy requires signed versions");
      continue;
    }
    const subject = {
      org,
      capability,
      version: entry.version,
      artifactSha256: entry.artifact_digest.slice("sha256:".length),
    };
    const trusted = keysByOrg.get(org) ?? [];
    envelopes.forEach((value, index) => {
      try {
        verifyEnvelope(envelopeFrom(value, ["signatures", index]), subject, trusted, ["signatures", index]);
      } catch (error) {
        if (error instanceof SignatureError)
          throw refuse(entry, `signature ${index} does not verify: ${error.message}`);
        throw error;
      }
    });
  }
}

function trustedKeysByOrg(value: unknown): Map<string, TrustedKey[]> {
  const byOrg = new Map<string, TrustedKey[]>();
  if (value === undefined) return byOrg;
  if (!Array.isArray(value) || value.length > MAX_TRUSTED_KEYS) {
    throw new CliError(
      "the server's resolved set cannot be used (its trusted_keys are malformed); nothing was changed",
    );
  }
  for (const key of value) {
    const { id, org, name, public_key } = (key ?? {}) as Record<string, unknown>;
    if (
      typeof id !== "string" ||
      typeof org !== "string" ||
      typeof name !== "string" ||
      typeof public_key !== "string"
    ) {
      throw new CliError(
        "the server's resolved set cannot be used (a trusted key is malformed); nothing was changed",
      );
    }
    byOrg.set(org, [...(byOrg.get(org) ?? []), { id, name, public_key }]);
  }
  return byOrg;
}

function refuse(entry: ResolvedEntry, problem: string): CliError {
  return new CliError(`refusing ${entry.name}@${entry.version}: ${problem}; nothing was changed`);
}
