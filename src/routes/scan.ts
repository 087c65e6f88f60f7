// Publish-time scanning (SPEC §14): a version's findings as SARIF, and the org policy that decides
// which findings refuse a publish.
import { VersionParams } from "../contract/capabilities.js";
import { errorResponses, OrgParams } from "../contract/common.js";
import { OrgPolicy, OrgPolicyBody, SarifLog } from "../contract/scan.js";
import { getOrgPolicy, getVersionScan, updateOrgPolicy } from "../services/scan-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

export default async function scanRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/org/:org/capabilities/:name/:version/scan",
    {
      schema: {
        operationId: "getCapabilityVersionScan",
        tags: ["capabilities"],
        summary: "The version's publish-time scan findings, as SARIF 2.1.0",
        params: VersionParams,
        response: { 200: SarifLog, ...errorResponses },
      },
    },
    async (request) => {
      const { org, name, version } = request.params;
      return getVersionScan(app.deps, scopeOf(request), org, name, version);
    },
  );

  app.get(
    "/org/:org/policy",
    {
      schema: {
        operationId: "getOrganizationPolicy",
        tags: ["orgs"],
        summary: "The org's publish policy: which scan findings refuse a publish",
        params: OrgParams,
        response: { 200: OrgPolicy, ...errorResponses },
      },
    },
    async (request) => getOrgPolicy(app.deps, scopeOf(request), request.params.org),
  );

  app.put(
    "/org/:org/policy",
    {
      schema: {
        operationId: "updateOrganizationPolicy",
        tags: ["orgs"],
        summary: "Set the org's publish policy (owner)",
        params: OrgParams,
        body: OrgPolicyBody,
        response: { 200: OrgPolicy, ...errorResponses },
      },
    },
    async (request) => updateOrgPolicy(app.deps, scopeOf(request), request.params.org, request.body),
  );
}
