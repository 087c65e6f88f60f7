// The API's error envelope (SPEC §2.4) turned into something a screen can show.
export interface ErrorItem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export interface Envelope {
  code: number;
  detail: string;
  type: string;
  errors?: ErrorItem[];
}

export class ApiError extends Error {
  constructor(readonly envelope: Envelope) {
    super(envelope.detail);
    this.name = "ApiError";
  }

  get status(): number {
    return this.envelope.code;
  }
}

export function isEnvelope(value: unknown): value is Envelope {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Envelope).code === "number" &&
    typeof (value as Envelope).detail === "string" &&
    typeof (value as Envelope).type === "string"
  );
}

/** Any failure as an envelope: a network error or a non-envelope body gets a plain one. */
export function toEnvelope(error: unknown, status = 0): Envelope {
  if (error instanceof ApiError) return error.envelope;
  if (isEnvelope(error)) return error;
  if (error instanceof TypeError) {
    return {
      code: 0,
      type: "network_error",
      detail: "The server could not be reached. Check your connection.",
    };
  }
  return {
    code: status,
    type: "server_error",
    detail: error instanceof Error ? error.message : "Something went wrong",
  };
}

/** `errors[].loc` → field name (the last string after `body` / `query` / `path`) → messages. */
export function fieldErrors(envelope: Envelope): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const item of envelope.errors ?? []) {
    const [, ...rest] = item.loc;
    const field = rest.length > 0 ? String(rest[rest.length - 1]) : "_";
    fields[field] = [...(fields[field] ?? []), item.msg];
  }
  return fields;
}

export const locText = (loc: (string | number)[]) => loc.join(" › ");
