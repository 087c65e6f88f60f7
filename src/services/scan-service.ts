// Publish-time scanning (SPEC §14), the parts with I/O: the org policy that decides which findings
// refuse a publish, and a version's findings as SARIF. The scan itself runs in the bundle worker
// (bundle-worker.ts → domain/scan.ts) before anything is stored.

import type { OrgPolicy, OrgPolicyBody, SarifLog } from "../contract/scan.js";
import {
  findOrgPolicy,
  findScanSummary,
  listScanFindings,
  saveOrgPolicy,
} from "../db/repositories/scan-repository.js";
import { toSarif } from "../domain/sarif.js";
import { blockingFindings, type ScanReport } from "../domain/scan.js";
import type { Issue } from "../domain/types.js";
import { AppError } from "../errors.js";
import { packageVersion } from "../lib/package-version.js";
import { requireOrgRole } from "./access.js";
import { scanSummaryOf } from "./artifact-views.js";
import { appendAudit } from "./audit.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import { resolveCapability, resolveVersionHead } from "./registry-service.js";
import { inTransaction } from "./transaction.js";

/** Error items in one refusal: enough to act on; the headline gives the full count. */
const MAX_REFUSAL_ITEMS = 200;

/**
 * Refuses a publish whose findings reach the org's `block_severity` (422, one `scan.<rule>` item per
 * finding, located at the file with the line in the message).
 */
export async function enforceScanPolicy(deps: ServiceDeps, orgId: string, scan: ScanReport): Promise<void> {
  if (scan.findings.length === 0) return;
  const policy = await findOrgPolicy(deps.db, orgId);
  const blocking = blockingFindings(scan.findings, policy.block_severity);
  if (blocking.length === 0) return;
  const items: Issue[] = blocking.slice(0, MAX_REFUSAL_ITEMS).map((finding) => ({
    loc: ["bundle", finding.path],
    msg: `line ${finding.line}: ${finding.message} (${finding.severity}; suppress with "capstan-scan: ignore ${finding.rule} <reason>" on the line)`,
    type: `scan.${finding.rule}`,
  }));
  const shown = blocking.length > items.length ? ` (the first ${items.length} listed)` : "";
  throw new AppError(
    "validation_error",
    `The publish-time scan found ${blocking.length} finding(s) at or above the org's block_severity '${policy.block_severity}'${shown}`,
    items,
  );
}

export async function getOrgPolicy(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
): Promise<OrgPolicy> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "reader");
  return findOrgPolicy(deps.db, org.id);
}

export async function updateOrgPolicy(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  body: OrgPolicyBody,
): Promise<OrgPolicy> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const at = deps.now().toISOString();
  await inTransaction(deps, async (trx) => {
    const before = await findOrgPolicy(trx, org.id);
    await saveOrgPolicy(trx, org.id, { block_severity: body.block_severity, updated_at: at });
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        action: "org.policy.updated",
        targetType: "org",
        targetId: org.id,
        data: { block_severity: body.block_severity, previous: before.block_severity },
      },
      at,
    );
  });
  return { block_severity: body.block_severity, updated_at: at };
}

/** A version's findings as SARIF 2.1.0; a version published before scanning has an empty run. */
export async function getVersionScan(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
): Promise<SarifLog> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  const head = await resolveVersionHead(deps.db, target, version);
  const [summary, findings] = await Promise.all([
    findScanSummary(deps.db, head.id),
    listScanFindings(deps.db, head.id),
  ]);
  return toSarif(findings, {
    toolVersion: packageVersion(),
    capability: `${target.ownerKey}/${target.capability.name}`,
    version: head.version,
    summary: scanSummaryOf(summary),
  });
}
