// Asking before a change that cannot be undone (SPEC §9, §16): on a terminal the user answers; without
// one (a script, a pipe) the command needs --yes, so that nothing is destroyed by accident.
import { createInterface } from "node:readline/promises";
import { CliError } from "./cli-errors.js";
import { isInteractive } from "./cli-io.js";
import type { CommandContext, CommandInput, OptionSpec } from "./command.js";

export const YES_OPTION: Record<string, OptionSpec> = {
  yes: { type: "boolean", short: "y", description: "Do it without asking (needed without a terminal)" },
};

/**
 * Returns when `--yes` was given or the user answered yes; otherwise throws: a usage error (exit 2)
 * without a terminal, a CliError (exit 1, nothing changed) when the user declined.
 */
export async function confirm(
  ctx: CommandContext,
  input: CommandInput,
  action: { question: string; refusal: string },
): Promise<void> {
  if (input.boolean("yes")) return;
  if (!isInteractive(ctx.io)) {
    throw ctx.usageError(`${action.refusal} without confirmation`, "Re-run with --yes to do it.");
  }
  // Not a readline terminal: the terminal itself echoes the answer, and no raw mode is needed.
  const prompt = createInterface({
    input: ctx.io.stdin,
    output: ctx.io.stderr as NodeJS.WritableStream,
    terminal: false,
  });
  const answer = await prompt.question(`${action.question} [y/N] `).finally(() => prompt.close());
  if (!/^y(es)?$/i.test(answer.trim())) throw new CliError("cancelled: nothing was changed");
}
