// Response serialization with fast-json-stringify, compiled once per schema per process: route
// schemas are module-level constants, so apps built later (tests, several apps in one process)
// reuse the compiled serializer instead of compiling every response schema again.

import fastJsonStringify from "fast-json-stringify";
import type { FastifySerializerCompiler } from "fastify/types/schema.js";
import { ErrorEnvelope } from "../contract/common.js";

type Serialize = (data: unknown) => string;

const compiled = new WeakMap<object, Serialize>();
const sharedSchemas = { ErrorEnvelope };

export const serializerCompiler: FastifySerializerCompiler<unknown> = ({ schema }) => {
  let serialize = compiled.get(schema as object);
  if (!serialize) {
    serialize = fastJsonStringify(schema as object, { schema: sharedSchemas }) as Serialize;
    compiled.set(schema as object, serialize);
  }
  return serialize;
};
