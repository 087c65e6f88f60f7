import * as Tooltip from "@radix-ui/react-tooltip";
import { useState } from "react";
import { Button } from "./Button";

/** Copies `text`; says so in a tooltip and to screen readers. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  };
  return (
    <Tooltip.Root open={copied || undefined}>
      <Tooltip.Trigger asChild>
        {/* The accessible name contains the visible text in both states (WCAG 2.5.3). */}
        <Button size="sm" onClick={copy} aria-label={copied ? `Copied: ${label}` : label}>
          {copied ? "Copied" : "Copy"}
        </Button>
      </Tooltip.Trigger>
      <Tooltip.Portal>
        <Tooltip.Content
          sideOffset={4}
          className="rounded bg-slate-900 px-2 py-1 text-xs text-white dark:bg-slate-100 dark:text-slate-900"
        >
          {copied ? "Copied to the clipboard" : label}
        </Tooltip.Content>
      </Tooltip.Portal>
    </Tooltip.Root>
  );
}
