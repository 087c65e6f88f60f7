// Checks a document against what SARIF 2.1.0 requires (OASIS SARIF v2.1.0, and the required
// properties and enumerations of its JSON schema, sarif-schema-2.1.0.json): the parts of the schema
// that apply to what the scan writes, kept as a JSON Schema and checked with Ajv.
import assert from "node:assert/strict";
import { Ajv } from "ajv";

const message = {
  type: "object",
  // §3.11: a message has `text` or `id`.
  anyOf: [{ required: ["text"] }, { required: ["id"] }],
  properties: { text: { type: "string" }, id: { type: "string" } },
};

const propertyBag = { type: "object" };

const SARIF_2_1_0_REQUIRED = {
  type: "object",
  required: ["version", "runs"],
  properties: {
    $schema: { type: "string", format: "uri" },
    version: { enum: ["2.1.0"] },
    runs: {
      type: ["array", "null"],
      items: {
        type: "object",
        required: ["tool"],
        properties: {
          tool: {
            type: "object",
            required: ["driver"],
            properties: {
              driver: {
                type: "object",
                required: ["name"],
                properties: {
                  name: { type: "string" },
                  version: { type: "string" },
                  rules: {
                    type: "array",
                    items: {
                      type: "object",
                      required: ["id"],
                      properties: {
                        id: { type: "string" },
                        shortDescription: { type: "object", required: ["text"] },
                        defaultConfiguration: {
                          type: "object",
                          properties: { level: { enum: ["none", "note", "warning", "error"] } },
                        },
                        properties: propertyBag,
                      },
                    },
                  },
                },
              },
            },
          },
          results: {
            type: ["array", "null"],
            items: {
              type: "object",
              required: ["message"],
              properties: {
                ruleId: { type: "string" },
                ruleIndex: { type: "integer", minimum: -1 },
                kind: { enum: ["notApplicable", "pass", "fail", "review", "open", "informational"] },
                level: { enum: ["none", "note", "warning", "error"] },
                message,
                locations: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      physicalLocation: {
                        type: "object",
                        anyOf: [{ required: ["address"] }, { required: ["artifactLocation"] }],
                        properties: {
                          artifactLocation: {
                            type: "object",
                            properties: { uri: { type: "string", format: "uri-reference" } },
                          },
                          region: {
                            type: "object",
                            properties: { startLine: { type: "integer", minimum: 1 } },
                          },
                        },
                      },
                    },
                  },
                },
                suppressions: {
                  type: "array",
                  items: {
                    type: "object",
                    required: ["kind"],
                    properties: {
                      kind: { enum: ["inSource", "external"] },
                      status: { enum: ["accepted", "underReview", "rejected"] },
                      justification: { type: "string" },
                    },
                  },
                },
                properties: propertyBag,
              },
            },
          },
          properties: propertyBag,
        },
      },
    },
  },
};

const ajv = new Ajv({ allErrors: true, strict: false });
// The two formats the checked parts use, without a formats package: an absolute URI, a reference.
ajv.addFormat("uri", /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/);
ajv.addFormat("uri-reference", (value: string) => !/[\s\\]/.test(value) && !value.startsWith("/"));
const validate = ajv.compile(SARIF_2_1_0_REQUIRED);

interface SarifLike {
  runs: {
    tool: { driver: { rules?: { id: string }[] } };
    results?: { ruleId?: string; ruleIndex?: number }[];
  }[];
}

/** Fails unless `log` is a SARIF 2.1.0 log whose results point at rules that exist. */
export function assertSarif210(log: unknown): void {
  assert.ok(validate(log), JSON.stringify(validate.errors, null, 1));
  for (const run of (log as unknown as SarifLike).runs) {
    const rules = run.tool.driver.rules ?? [];
    for (const result of run.results ?? []) {
      // §3.27.7: when both are present, ruleIndex points at the rule whose id is ruleId.
      if (result.ruleIndex !== undefined && result.ruleIndex >= 0) {
        assert.equal(rules[result.ruleIndex]?.id, result.ruleId);
      }
    }
  }
}
