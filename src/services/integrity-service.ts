// `capstan admin verify`: read-only checks of a live data directory (or scale-mode database), run
// against SQLite and PostgreSQL alike. Each check appends the problems it finds; `errors` mean
// something is broken (a version without its blob, a binding to a deleted version), `warnings`
// are harmless waste the next collection removes (a blob nothing names, past the grace period).
import { LATEST_MIGRATION } from "../db/migrate.js";
import {
  type DanglingReference,
  lastAppliedMigration,
  listAuditChainsPage,
  listBindingsToDeadVersions,
  listCapabilitiesWithDeadLatest,
  listLiveVersionRefsPage,
  listTagsToDeadVersions,
  storageEngineProblems,
} from "../db/repositories/integrity-repository.js";
import type { FileManifestEntry } from "../domain/types.js";
import { verifyAuditChain } from "./audit-chain-service.js";
import { BLOB_COLLECT_INTERVAL_MS, BLOB_GRACE_MS } from "./blob-collector.js";
import type { ServiceDeps } from "./deps.js";

export type IntegrityProblemKind =
  | "schema"
  | "database"
  | "missing_blob"
  | "unreferenced_blob"
  | "binding_to_dead_version"
  | "tag_to_dead_version"
  | "latest_to_dead_version"
  | "audit_chain";

export interface IntegrityProblem {
  kind: IntegrityProblemKind;
  severity: "error" | "warning";
  detail: string;
  /** The row or blob concerned, when there is one. */
  id?: string;
}

export interface IntegrityReport {
  /** No errors (warnings allowed). */
  ok: boolean;
  problems: IntegrityProblem[];
  /** Counts of what was looked at, per check. */
  checked: Record<string, number>;
  /** More problems than MAX_PROBLEMS were found; the list stops there. */
  truncated: boolean;
}

/** Problems kept per report (and rows asked for per query): enough to act on, never unbounded. */
export const MAX_PROBLEMS = 1_000;
const VERSION_BATCH = 200;

type IntegrityDeps = Pick<ServiceDeps, "db" | "dialect" | "blobs">;

class Findings {
  readonly problems: IntegrityProblem[] = [];
  readonly checked: Record<string, number> = {};
  truncated = false;

  add(problem: IntegrityProblem): void {
    if (this.problems.length >= MAX_PROBLEMS) this.truncated = true;
    else this.problems.push(problem);
  }

  count(check: string, n: number): void {
    this.checked[check] = (this.checked[check] ?? 0) + n;
  }
}

interface CheckContext {
  deps: IntegrityDeps;
  now: Date;
  findings: Findings;
  /** Every blob a live version names (filled by the version check, read by the orphan check). */
  named: Set<string>;
}

interface IntegrityCheck {
  name: string;
  run(context: CheckContext): Promise<void>;
}

/** The checks, in order. */
export const INTEGRITY_CHECKS: IntegrityCheck[] = [
  { name: "database", run: checkDatabase },
  { name: "version_blobs", run: checkVersionBlobs },
  { name: "unreferenced_blobs", run: checkUnreferencedBlobs },
  { name: "bindings", run: (context) => checkReferences(context, "bindings") },
  { name: "tags", run: (context) => checkReferences(context, "tags") },
  { name: "latest", run: (context) => checkReferences(context, "latest") },
  { name: "audit_chains", run: checkAuditChains },
];

export async function verifyIntegrity(deps: IntegrityDeps, now: Date): Promise<IntegrityReport> {
  const findings = new Findings();
  const migration = await lastAppliedMigration(deps.db);
  if (migration !== LATEST_MIGRATION) {
    findings.add({
      kind: "schema",
      severity: "error",
      detail:
        migration === null || migration < LATEST_MIGRATION
          ? `the database is at migration ${migration ?? "(none)"}, this release expects ${LATEST_MIGRATION}: start the server once to migrate it, then verify again`
          : `the database is at migration ${migration}, newer than this release's ${LATEST_MIGRATION}: verify it with the release that wrote it`,
    });
    return { ok: false, problems: findings.problems, checked: findings.checked, truncated: false };
  }
  const context: CheckContext = { deps, now, findings, named: new Set() };
  for (const check of INTEGRITY_CHECKS) await check.run(context);
  return {
    ok: !findings.problems.some((problem) => problem.severity === "error"),
    problems: findings.problems,
    checked: findings.checked,
    truncated: findings.truncated,
  };
}

async function checkDatabase({ deps, findings }: CheckContext): Promise<void> {
  for (const detail of await storageEngineProblems(deps.db, deps.dialect, MAX_PROBLEMS)) {
    findings.add({ kind: "database", severity: "error", detail });
  }
}

/** Every version that is not deleted has its archive blob and the blob of every file. */
async function checkVersionBlobs({ deps, findings, named }: CheckContext): Promise<void> {
  const present = new Map<string, boolean>();
  const has = async (sha256: string): Promise<boolean> => {
    let found = present.get(sha256);
    if (found === undefined) {
      found = await deps.blobs.has(sha256);
      present.set(sha256, found);
    }
    return found;
  };
  let after = "";
  for (;;) {
    const rows = await listLiveVersionRefsPage(deps.db, after, VERSION_BATCH);
    if (rows.length === 0) break;
    findings.count("versions", rows.length);
    for (const row of rows) {
      const name = `${row.org_key}/${row.capability}@${row.version}`;
      named.add(row.artifact_sha256);
      if (!(await has(row.artifact_sha256))) {
        findings.add({
          kind: "missing_blob",
          severity: "error",
          id: row.artifact_sha256,
          detail: `${name}: its bundle archive (blob ${row.artifact_sha256}) is not in the blob store`,
        });
      }
      for (const entry of JSON.parse(row.file_manifest) as FileManifestEntry[]) {
        named.add(entry.sha256);
        if (!(await has(entry.sha256))) {
          findings.add({
            kind: "missing_blob",
            severity: "error",
            id: entry.sha256,
            detail: `${name}: file ${entry.path} (blob ${entry.sha256}) is not in the blob store`,
          });
        }
      }
    }
    after = rows[rows.length - 1].id;
  }
  findings.count("blobs_named", named.size);
}

/**
 * Blobs no live version names, written before the collector's grace period and one collection
 * interval ago: the collector should have taken them by now. Harmless (a warning), but a sign that
 * it is not running.
 */
async function checkUnreferencedBlobs({ deps, now, findings, named }: CheckContext): Promise<void> {
  const cutoff = new Date(now.getTime() - BLOB_GRACE_MS - BLOB_COLLECT_INTERVAL_MS);
  for await (const batch of deps.blobs.listWrittenBefore(cutoff)) {
    findings.count("blobs_past_grace", batch.length);
    for (const sha256 of batch) {
      if (named.has(sha256)) continue;
      findings.add({
        kind: "unreferenced_blob",
        severity: "warning",
        id: sha256,
        detail: `blob ${sha256} is named by no version and older than the collection grace period; the collector deletes it`,
      });
    }
  }
}

const REFERENCE_CHECKS = {
  bindings: {
    list: listBindingsToDeadVersions,
    kind: "binding_to_dead_version",
    describe: (ref: DanglingReference) => `binding ${ref.id} of runtime ${ref.detail}`,
  },
  tags: {
    list: listTagsToDeadVersions,
    kind: "tag_to_dead_version",
    describe: (ref: DanglingReference) => `tag '${ref.detail}'`,
  },
  latest: {
    list: listCapabilitiesWithDeadLatest,
    kind: "latest_to_dead_version",
    describe: () => `its stored latest version`,
  },
} as const;

/** Bindings, tags and each capability's "latest" point at a live version of their capability. */
async function checkReferences(
  { deps, findings }: CheckContext,
  which: keyof typeof REFERENCE_CHECKS,
): Promise<void> {
  const check = REFERENCE_CHECKS[which];
  for (const ref of await check.list(deps.db, MAX_PROBLEMS)) {
    const what =
      ref.status === null
        ? "a version that does not exist (or is another capability's)"
        : `a ${ref.status} version`;
    findings.add({
      kind: check.kind,
      severity: which === "latest" && ref.status !== null && ref.status !== "deleted" ? "warning" : "error",
      id: ref.id,
      detail: `${ref.org_key}/${ref.capability ?? "?"}: ${check.describe(ref)} points at ${what} (${ref.version_id})`,
    });
  }
}

const CHAIN_BATCH = 200;

/**
 * The tamper-evident audit log (SPEC §15): the instance's chain ("") and every org's, each walked
 * from its first record to its head by verifyAuditChain; the first broken link of a chain is an
 * error naming the record (later links of that chain are not reported: they follow from it).
 */
async function checkAuditChains({ deps, findings }: CheckContext): Promise<void> {
  const verifyOne = async (chain: string, name: string) => {
    const result = await verifyAuditChain(deps.db, chain);
    findings.count("audit_chains", 1);
    findings.count("audit_records", result.records);
    if (result.ok || !result.broken) return;
    const { id, chain_seq, reason } = result.broken;
    const where = id === null ? `at position ${chain_seq}` : `at record ${id} (position ${chain_seq})`;
    findings.add({
      kind: "audit_chain",
      severity: "error",
      id: id ?? undefined,
      detail: `${name}: the audit chain breaks ${where}: ${CHAIN_BREAKS[reason]} (${result.records} record(s) before it verify)`,
    });
  };
  await verifyOne("", "the instance");
  let after = "";
  for (;;) {
    const page = await listAuditChainsPage(deps.db, after, CHAIN_BATCH);
    for (const ref of page) await verifyOne(ref.chain, ref.org_key ?? `org ${ref.chain} (deleted)`);
    if (page.length < CHAIN_BATCH) break;
    after = page[page.length - 1].chain;
  }
}

const CHAIN_BREAKS: Record<string, string> = {
  hash_mismatch: "its hash does not match its content and the link before it (edited)",
  missing: "a record is missing (deleted)",
  duplicate: "two records claim the same position (forged)",
  unchained: "records outside the chain (forged)",
  truncated: "the chain stops before its head (records deleted at the end)",
  head_mismatch: "the last record does not match the stored head",
};
