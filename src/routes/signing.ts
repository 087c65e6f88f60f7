// Org signing keys and capability signatures (SPEC §14).
import { ReleaseParams } from "../contract/capabilities.js";
import { errorResponses, NoContent, OrgParams } from "../contract/common.js";
import {
  DsseEnvelopeBody,
  SignatureEnvelopeList,
  SignatureResult,
  SigningKey,
  SigningKeyCreateBody,
  SigningKeyList,
  SigningKeyParams,
} from "../contract/signing.js";
import {
  addSignature,
  createSigningKey,
  listSigningKeys,
  listVersionSignatureEnvelopes,
  revokeSigningKey,
} from "../services/signing-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const KEYS = "/org/:org/signing-keys";

export default async function signingRoutes(app: RouteApp): Promise<void> {
  const tags = ["signing"];

  app.get(
    KEYS,
    {
      schema: {
        operationId: "listSigningKeys",
        tags,
        summary: "The organization's signing keys, revoked ones included",
        params: OrgParams,
        response: { 200: SigningKeyList, ...errorResponses },
      },
    },
    async (request) => listSigningKeys(app.deps, scopeOf(request), request.params.org),
  );

  app.post(
    KEYS,
    {
      schema: {
        operationId: "createSigningKey",
        tags,
        summary: "Register an Ed25519 public key whose signatures vouch for this org's bundles (owner)",
        params: OrgParams,
        body: SigningKeyCreateBody,
        response: { 201: SigningKey, ...errorResponses },
      },
    },
    async (request, reply) => {
      const key = await createSigningKey(app.deps, scopeOf(request), request.params.org, request.body);
      return reply.code(201).send(key);
    },
  );

  app.delete(
    `${KEYS}/:key_id`,
    {
      schema: {
        operationId: "revokeSigningKey",
        tags,
        summary: "Revoke a signing key: its signatures stop counting from now on (owner)",
        params: SigningKeyParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await revokeSigningKey(app.deps, scopeOf(request), request.params.org, request.params.key_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/org/:org/capabilities/:name/:version/signatures",
    {
      schema: {
        operationId: "listCapabilityVersionSignatures",
        tags: ["capabilities"],
        summary: "The version's DSSE envelopes that count (by non-revoked keys), for offline verification",
        params: ReleaseParams,
        response: { 200: SignatureEnvelopeList, ...errorResponses },
      },
    },
    async (request) => {
      const { org, name, version } = request.params;
      return listVersionSignatureEnvelopes(app.deps, scopeOf(request), org, name, version);
    },
  );

  app.post(
    "/org/:org/capabilities/:name/:version/signatures",
    {
      schema: {
        operationId: "addCapabilityVersionSignature",
        tags: ["capabilities"],
        summary: "Add a DSSE signature to a published version; verified against the org's keys",
        params: ReleaseParams,
        body: DsseEnvelopeBody,
        response: { 200: SignatureResult, 201: SignatureResult, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, name, version } = request.params;
      const { created, result } = await addSignature(
        app.deps,
        scopeOf(request),
        org,
        name,
        version,
        request.body,
      );
      return reply.code(created ? 201 : 200).send(result);
    },
  );
}
