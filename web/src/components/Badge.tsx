import type { ReactNode } from "react";

type Tone = "green" | "amber" | "red" | "slate" | "blue";

const TONES: Record<Tone, string> = {
  green: "bg-green-100 text-green-900 dark:bg-green-900/60 dark:text-green-100",
  amber: "bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100",
  red: "bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100",
  slate: "bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100",
  blue: "bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100",
};

export function Badge({
  tone = "slate",
  children,
  title,
}: {
  tone?: Tone;
  children: ReactNode;
  title?: string;
}) {
  return (
    <span
      title={title}
      className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap ${TONES[tone]}`}
    >
      {children}
    </span>
  );
}

const STATUS_TONES: Record<string, Tone> = { active: "green", deprecated: "amber", yanked: "red" };

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge tone={STATUS_TONES[status] ?? "slate"}>
      <span data-status={status}>{status}</span>
    </Badge>
  );
}

export function VisibilityBadge({ isPublic }: { isPublic: boolean }) {
  return <Badge tone={isPublic ? "blue" : "slate"}>{isPublic ? "public" : "private"}</Badge>;
}
