// Publish-time scan findings per version and the orgs' scan policies (SPEC §14).
import type { BlockSeverity, ScanFinding } from "../../domain/scan.js";
import type { Db } from "../schema.js";

/** Rows per insert: ten parameters each stays far below PostgreSQL's 65,535 per statement. */
const INSERT_BATCH = 500;

export async function insertScanFindings(
  trx: Db,
  versionId: string,
  orgId: string,
  findings: readonly ScanFinding[],
): Promise<void> {
  for (let start = 0; start < findings.length; start += INSERT_BATCH) {
    const rows = findings.slice(start, start + INSERT_BATCH).map((finding, index) => ({
      version_id: versionId,
      seq: start + index,
      org_id: orgId,
      rule: finding.rule,
      severity: finding.severity,
      path: finding.path,
      line: finding.line,
      message: finding.message,
      suppressed_reason: finding.suppressed?.reason ?? null,
    }));
    await trx.insertInto("scan_findings").values(rows).execute();
  }
}

/** A version's findings in the scanner's order. */
export async function listScanFindings(db: Db, versionId: string): Promise<ScanFinding[]> {
  const rows = await db
    .selectFrom("scan_findings")
    .select(["rule", "severity", "path", "line", "message", "suppressed_reason"])
    .where("version_id", "=", versionId)
    .orderBy("seq")
    .execute();
  return rows.map((row) => ({
    rule: row.rule,
    severity: row.severity,
    path: row.path,
    line: Number(row.line),
    message: row.message,
    ...(row.suppressed_reason === null ? {} : { suppressed: { reason: row.suppressed_reason } }),
  }));
}

export interface OrgPolicy {
  block_severity: BlockSeverity;
  updated_at: string | null;
}

/** The org's policy; the defaults (block `high`) when it never set one. */
export async function findOrgPolicy(db: Db, orgId: string): Promise<OrgPolicy> {
  const row = await db
    .selectFrom("org_policies")
    .select(["block_severity", "updated_at"])
    .where("org_id", "=", orgId)
    .executeTakeFirst();
  return row ?? { block_severity: "high", updated_at: null };
}

export async function saveOrgPolicy(
  db: Db,
  orgId: string,
  policy: { block_severity: BlockSeverity; updated_at: string },
): Promise<void> {
  await db
    .insertInto("org_policies")
    .values({ org_id: orgId, ...policy })
    .onConflict((conflict) => conflict.column("org_id").doUpdateSet(policy))
    .execute();
}

/** The stored JSON summary of a version's scan; null when the version was published unscanned. */
export async function findScanSummary(db: Db, versionId: string): Promise<string | null> {
  const row = await db
    .selectFrom("capability_versions")
    .select("scan_summary")
    .where("id", "=", versionId)
    .executeTakeFirst();
  return row?.scan_summary ?? null;
}
