// Request validation. Bodies are validated strictly (no type coercion, unknown fields rejected,
// SPEC §2.1); query strings, params and headers are coerced, since they arrive as text.

import { Ajv, type Options } from "ajv";
import type { FastifySchemaCompiler } from "fastify";
import type { FastifySchemaValidationError } from "fastify/types/schema.js";
import { NO_NUL, NOT_BLANK } from "../contract/common.js";
import type { Issue } from "../domain/types.js";

const common: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };
const bodyAjv = new Ajv({ ...common, coerceTypes: false });
const textAjv = new Ajv({ ...common, coerceTypes: "array" });

type Validate = ReturnType<FastifySchemaCompiler<unknown>>;

// Route schemas are module-level constants, so every app built in this process (tests build
// hundreds) can share one compiled validator per schema instead of compiling it again. A validator
// is compiled when a request first needs it, not when the app is built (see http/serialization.ts).
const compiled = { body: new WeakMap<object, Validate>(), text: new WeakMap<object, Validate>() };

type Part = keyof typeof compiled;

const partOf = (httpPart: string | undefined): Part => (httpPart === "body" ? "body" : "text");

/** Schemas a route declared whose validator is not compiled yet (module constants: bounded sets). */
const pending = { body: new Set<object>(), text: new Set<object>() };

/** The validator of `schema` for a request part, compiled now if this process has not yet. */
export function compileValidator(schema: object, httpPart: string | undefined): Validate {
  const part = partOf(httpPart);
  const cache = compiled[part];
  let validate = cache.get(schema);
  if (!validate) {
    validate = (part === "body" ? bodyAjv : textAjv).compile(schema) as Validate;
    cache.set(schema, validate);
  }
  pending[part].delete(schema);
  return validate;
}

/** Compiles every validator a route of a built app declared and no request has used yet; returns how many. */
export function compilePendingValidators(): number {
  let count = 0;
  for (const part of ["body", "text"] as const) {
    for (const schema of [...pending[part]]) {
      compileValidator(schema, part);
      count++;
    }
  }
  return count;
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const known = compiled[partOf(httpPart)].get(schema as object);
  if (known) return known;
  pending[partOf(httpPart)].add(schema as object);
  let validate: Validate | undefined;
  // Fastify reads `errors` off the function it was given after a failed validation.
  const lazy = ((data: unknown) => {
    validate ??= compileValidator(schema as object, httpPart);
    const valid = validate(data);
    lazy.errors = validate.errors;
    return valid;
  }) as Validate;
  return lazy;
};

const LOC_ROOT: Record<string, string> = {
  body: "body",
  querystring: "query",
  params: "path",
  headers: "header",
};

/** Turns Ajv errors into envelope items with `loc` = [part, ...path]. */
export function validationIssues(errors: FastifySchemaValidationError[], context: string): Issue[] {
  const root = LOC_ROOT[context] ?? context;
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const error of errors) {
    const loc: (string | number)[] = [root];
    for (const segment of error.instancePath.split("/").slice(1)) {
      const unescaped = segment.replace(/~1/g, "/").replace(/~0/g, "~");
      loc.push(/^\d+$/.test(unescaped) ? Number(unescaped) : unescaped);
    }
    const params = error.params as Record<string, unknown>;
    let msg = error.message ?? "is invalid";
    let type = `value_error.${error.keyword}`;
    if (error.keyword === "additionalProperties") {
      loc.push(String(params.additionalProperty));
      msg = "unknown field";
      type = "value_error.extra";
    } else if (error.keyword === "required") {
      loc.push(String(params.missingProperty));
      msg = "field required";
      type = "value_error.missing";
    } else if (error.keyword === "type") {
      type = `type_error.${String(params.type)}`;
    } else if (error.keyword === "pattern" && params.pattern === NOT_BLANK) {
      msg = "must not be blank";
    } else if (error.keyword === "pattern" && params.pattern === NO_NUL) {
      msg = "must not contain the NUL character";
    }
    // anyOf branches repeat the same location; one item per place is enough for a human.
    const key = `${loc.join("\u0000")}|${type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ loc, msg, type });
  }
  return issues;
}
