// The two functions of js-yaml the config editor uses (the package ships no types).
declare module "js-yaml" {
  export function load(text: string, options?: { json?: boolean }): unknown;
  export function dump(
    value: unknown,
    options?: { noRefs?: boolean; lineWidth?: number; sortKeys?: boolean },
  ): string;
}
