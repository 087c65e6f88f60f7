// Response serialization with fast-json-stringify, compiled once per schema per process and only
// when a response first needs it. Route schemas are module-level constants, so apps built later
// (tests, several apps in one process) reuse the compiled serializer. Compiling on first use, not
// when the app is built: building every route's serializers and validators took about 2 s of CPU
// at each start (the bulk of a test app's start), for routes most processes never answer; the
// first response of a route pays its own compile (milliseconds) instead. test/http/schemas-compile
// compiles every route's schemas, so a broken one still fails the suite, not a user's request.

import fastJsonStringify from "fast-json-stringify";
import type { FastifySerializerCompiler } from "fastify/types/schema.js";
import { ErrorEnvelope } from "../contract/common.js";

type Serialize = (data: unknown) => string;

const compiled = new WeakMap<object, Serialize>();
const sharedSchemas = { ErrorEnvelope };

/** Schemas a route declared whose serializer is not compiled yet (module constants: a bounded set). */
const pending = new Set<object>();

/** The serializer of `schema`, compiled now if this process has not yet. */
export function compileSerializer(schema: object): Serialize {
  let serialize = compiled.get(schema);
  if (!serialize) {
    serialize = fastJsonStringify(schema, { schema: sharedSchemas }) as Serialize;
    compiled.set(schema, serialize);
  }
  pending.delete(schema);
  return serialize;
}

/** Compiles every serializer a route of a built app declared and none has used yet; returns how many. */
export function compilePendingSerializers(): number {
  const schemas = [...pending];
  for (const schema of schemas) compileSerializer(schema);
  return schemas.length;
}

export const serializerCompiler: FastifySerializerCompiler<unknown> = ({ schema }) => {
  let serialize = compiled.get(schema as object);
  if (serialize) return serialize;
  pending.add(schema as object);
  // Looked up once: later responses pay one comparison.
  return (data: unknown) => {
    serialize ??= compileSerializer(schema as object);
    return serialize(data);
  };
};
