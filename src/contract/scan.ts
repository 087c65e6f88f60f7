// Publish-time scanning (SPEC §14): the scan summary a version's detail carries, the findings as
// SARIF 2.1.0, and the org policy that decides which findings refuse a publish.
import { type Static, Type } from "typebox";
import { Nullable, Timestamp } from "./common.js";

const strict = { additionalProperties: false } as const;

export const BlockSeverity = Type.Union(
  [Type.Literal("none"), Type.Literal("high"), Type.Literal("medium")],
  {
    description: "Findings at or above this severity refuse a publish; `none` refuses nothing",
  },
);

export const OrgPolicy = Type.Object({
  block_severity: BlockSeverity,
  updated_at: Nullable(Timestamp),
});
export type OrgPolicy = Static<typeof OrgPolicy>;

export const OrgPolicyBody = Type.Object({ block_severity: BlockSeverity }, strict);
export type OrgPolicyBody = Static<typeof OrgPolicyBody>;

export const ScanSummary = Type.Object(
  {
    status: Type.Union([Type.Literal("passed"), Type.Literal("findings"), Type.Literal("not_scanned")], {
      description: "`not_scanned` for versions published before scanning existed",
    }),
    counts: Type.Object(
      { high: Type.Integer(), medium: Type.Integer(), low: Type.Integer() },
      {
        description: "Findings not suppressed, by severity",
      },
    ),
    suppressed: Type.Integer({ description: "Findings suppressed by a `capstan-scan: ignore` comment" }),
    complete: Type.Boolean({ description: "false when a size bound stopped the scan before the end" }),
  },
  { description: "The publish-time scan; the findings are at `…/{version}/scan` (SARIF)" },
);
export type ScanSummary = Static<typeof ScanSummary>;

const Message = Type.Object({ text: Type.String() });

const SarifRule = Type.Object({
  id: Type.String(),
  shortDescription: Message,
  defaultConfiguration: Type.Object({ level: Type.String() }),
  properties: Type.Object({ severity: Type.String() }),
});

const SarifResult = Type.Object({
  ruleId: Type.String(),
  ruleIndex: Type.Integer(),
  level: Type.String(),
  message: Message,
  locations: Type.Array(
    Type.Object({
      physicalLocation: Type.Object({
        artifactLocation: Type.Object({ uri: Type.String() }),
        region: Type.Object({ startLine: Type.Integer() }),
      }),
    }),
  ),
  suppressions: Type.Optional(Type.Array(Type.Object({ kind: Type.String(), justification: Type.String() }))),
  properties: Type.Object({ severity: Type.String() }),
});

/** The subset of SARIF 2.1.0 the scan writes (OASIS SARIF v2.1.0, §3.13 sarifLog onwards). */
export const SarifLog = Type.Object(
  {
    $schema: Type.String(),
    version: Type.Literal("2.1.0"),
    runs: Type.Array(
      Type.Object({
        tool: Type.Object({
          driver: Type.Object({
            name: Type.String(),
            version: Type.String(),
            rules: Type.Array(SarifRule),
          }),
        }),
        results: Type.Array(SarifResult),
        properties: Type.Object({
          capability: Type.String(),
          version: Type.String(),
          summary: ScanSummary,
        }),
      }),
    ),
  },
  { description: "SARIF 2.1.0 log of a version's publish-time scan" },
);
export type SarifLog = Static<typeof SarifLog>;
