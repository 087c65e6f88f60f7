export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** `owner/name` → its parts; a bare name belongs to the org in the URL. */
export function splitCapabilityName(name: string, org: string): { owner: string; bare: string } {
  const slash = name.indexOf("/");
  return slash === -1
    ? { owner: org, bare: name }
    : { owner: name.slice(0, slash), bare: name.slice(slash + 1) };
}
