// Short human renderings of API values, shared by the command groups.
import type { ComponentCounts } from "../domain/types.js";

const COMPONENT_LABELS: [keyof ComponentCounts, string, string][] = [
  ["agents", "agent", "agents"],
  ["tools", "tool", "tools"],
  ["skills", "skill", "skills"],
  ["mcp_servers", "MCP server", "MCP servers"],
  ["workers", "worker", "workers"],
];

/** "1 agent, 2 tools"; "none" when every count is 0. */
export function formatComponents(counts: ComponentCounts): string {
  const parts = COMPONENT_LABELS.filter(([key]) => counts[key] > 0).map(
    ([key, one, many]) => `${counts[key]} ${counts[key] === 1 ? one : many}`,
  );
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** "readonly=true proxy=false" in name order; "-" when there are none. */
export function formatFlags(flags: Record<string, boolean>): string {
  const names = Object.keys(flags).sort();
  return names.length === 0 ? "-" : names.map((name) => `${name}=${flags[name]}`).join(" ");
}

/** `2025-01-31 14:05` (UTC): enough to tell versions apart in a table. */
export function formatTimestamp(iso: string): string {
  return iso.slice(0, 16).replace("T", " ");
}

export function truncate(text: string | null, max: number): string {
  if (text === null) return "";
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
