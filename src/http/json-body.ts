// Limits on a JSON body that its size alone does not bound.

/**
 * How deep objects and arrays may nest in a request body. Nothing in the API nests a tenth as deep;
 * code that walks a document recursively (canonical JSON for digests, validation, serialization)
 * overflows the stack at a few thousand levels, and a 1 MiB body can nest 500,000 deep.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Whether `text` nests objects and arrays deeper than `maxDepth`, read before it is parsed (one pass,
 * no allocation). Brackets inside strings do not count; a malformed text is left to the parser.
 */
export function nestsDeeperThan(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}
