// Shared shapes of the pure domain layer. Nothing here does I/O; the server (services/) and the
// CLI (cli/) both build on these.

/** One problem found in a request or a bundle, as it appears in the error envelope's `errors`. */
export interface Issue {
  loc: (string | number)[];
  msg: string;
  /** Stable machine type, dotted: `manifest.version`, `bundle.path`, … */
  type: string;
}

/** A regular file of a bundle, after reading and path normalisation. */
export interface BundleFile {
  /** Normalised relative path, `/`-separated, no leading `./`, no top-level prefix. */
  path: string;
  size: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  content: Buffer;
}

export interface FileManifestEntry {
  path: string;
  sha256: string;
  size: number;
}

export type ComponentType = "agent" | "tool" | "skill" | "mcp_server" | "worker";

export interface ComponentCounts {
  agents: number;
  tools: number;
  skills: number;
  mcp_servers: number;
  workers: number;
}

export interface ComponentDetail {
  type: ComponentType;
  name: string;
  path: string;
  description?: string;
  metadata?: Record<string, unknown>;
}

export interface FlagDefinition {
  description: string;
  default: boolean;
}
