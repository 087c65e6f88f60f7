// A scan's findings as a SARIF 2.1.0 log (OASIS Static Analysis Results Interchange Format), the
// format code hosts and review tools import. One run, one result per finding; a finding suppressed
// by a `capstan-scan: ignore` comment stays in the log with an in-source suppression, as SARIF
// intends, so a reviewer sees what was waved through and why.
import type { ScanFinding, ScanSummary } from "./scan.js";
import { SCAN_RULES, type ScanSeverity } from "./scan-rules.js";

export const SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json";

const LEVEL: Record<ScanSeverity, "error" | "warning" | "note"> = {
  high: "error",
  medium: "warning",
  low: "note",
};

export interface SarifContext {
  toolVersion: string;
  /** `org/name` of the capability. */
  capability: string;
  version: string;
  /** The stored summary, or `not_scanned` for a version published before scanning. */
  summary: Omit<ScanSummary, "status"> & { status: ScanSummary["status"] | "not_scanned" };
}

/** A bundle path as a relative URI reference: each segment percent-encoded, `/` kept. */
function pathUri(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

export function toSarif(findings: readonly ScanFinding[], context: SarifContext) {
  const ruleIndex = new Map(SCAN_RULES.map((rule, index) => [rule.id, index]));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: "2.1.0" as const,
    runs: [
      {
        tool: {
          driver: {
            name: "capstan-scan",
            version: context.toolVersion,
            rules: SCAN_RULES.map((rule) => ({
              id: rule.id,
              shortDescription: { text: rule.description },
              defaultConfiguration: { level: LEVEL[rule.severity] },
              properties: { severity: rule.severity },
            })),
          },
        },
        results: findings.map((finding) => ({
          ruleId: finding.rule,
          // A rule removed since the version was scanned has no index; -1 is SARIF's "none".
          ruleIndex: ruleIndex.get(finding.rule) ?? -1,
          level: LEVEL[finding.severity],
          message: { text: finding.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: pathUri(finding.path) },
                region: { startLine: finding.line },
              },
            },
          ],
          ...(finding.suppressed
            ? { suppressions: [{ kind: "inSource", justification: finding.suppressed.reason }] }
            : {}),
          properties: { severity: finding.severity },
        })),
        properties: { capability: context.capability, version: context.version, summary: context.summary },
      },
    ],
  };
}
