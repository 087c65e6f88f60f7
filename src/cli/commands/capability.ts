// `capstan capability …`: author a capability offline (init, validate, pack) and work with the
// registry (push, list, info, versions, deprecate, yank, delete, visibility, download).

import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { SignatureEnvelopeList, SigningKey } from "../../contract/signing.js";
import { BundleRejectedError, bundleLimitsFor, readBundle } from "../../domain/bundle-reader.js";
import { analyzeCapability, type CapabilityAnalysis } from "../../domain/capability-analysis.js";
import { sha256Hex } from "../../domain/digests.js";
import { envelopeFrom, SignatureError, signSubject, verifyEnvelope } from "../../domain/dsse.js";
import { isCapabilityName } from "../../domain/names.js";
import { type ScanReport, type ScanSummary, scanCapability } from "../../domain/scan.js";
import { apiPath } from "../api-client.js";
import type {
  ArtifactDetail,
  ArtifactPage,
  BundleLink,
  VersionList,
  VisibilityResult,
} from "../api-types.js";
import { writeFileAtomically } from "../atomic-write.js";
import { DEFAULT_MAX_BUNDLE_BYTES, downloadVerified } from "../bundle-download.js";
import {
  type CapabilitySource,
  excludeOutputs,
  type PackedBundle,
  packBundle,
  readCapabilitySelection,
  readCapabilitySource,
} from "../bundle-pack.js";
import { type CapabilityRef, fileSafeName, parseCapabilityRef } from "../capability-ref.js";
import { capabilitySchemaUrl, scaffoldFiles } from "../capability-scaffold.js";
import { oneOf } from "../choices.js";
import { CliError } from "../cli-errors.js";
import type { CommandContext, CommandInput, CommandSpec, GroupSpec } from "../command.js";
import { confirm, YES_OPTION } from "../confirm.js";
import { formatBytes, formatIssue } from "../output.js";
import { formatComponents, formatTimestamp, truncate } from "../presenters.js";
import { startProgress } from "../progress.js";
import { loadPrivateKey } from "./signing-key.js";

const init: CommandSpec = {
  name: "init",
  summary: "Create a new capability directory that validates as is",
  args: ["NAME"],
  options: {
    dir: { type: "string", value: "DIR", description: "Where to create it (default: ./NAME)" },
    "with-skills": { type: "boolean", description: "Add an example skill (skills/summarise/SKILL.md)" },
    "with-mcp": { type: "boolean", description: "Add an example MCP server (.mcp.json)" },
  },
  details: `capability.yaml starts with a yaml-language-server line naming the JSON Schema of the
format on the configured server (profile or CAPSTAN_URL), else on http://127.0.0.1:8080, so that
editors complete and check the manifest.`,
  async run(ctx, input) {
    const [name] = input.args;
    if (!isCapabilityName(name)) {
      throw ctx.usageError(
        `'${name}' is not a capability name: lower-case letters, digits and '-', at most 64`,
      );
    }
    const dir = path.resolve(ctx.io.cwd, input.string("dir") ?? name);
    const existing = await readdir(dir).catch(() => null);
    if (existing !== null && existing.length > 0)
      throw new CliError(`${dir} already exists and is not empty`);
    // Offline: a profile or CAPSTAN_URL only names the server the editor fetches the schema from.
    const serverUrl = await ctx.connection().then(
      (connection) => connection.url,
      () => null,
    );
    const files = scaffoldFiles(name, {
      withSkills: input.boolean("with-skills"),
      withMcp: input.boolean("with-mcp"),
      schemaUrl: capabilitySchemaUrl(serverUrl),
    });
    for (const [file, content] of files) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), content, { flag: "wx" });
    }
    if (ctx.json) {
      ctx.out.data({ name, dir, files: [...files.keys()].sort() });
      return;
    }
    ctx.out.line(`Created ${name} in ${dir}:`);
    for (const file of [...files.keys()].sort()) ctx.out.line(`  ${file}`);
    ctx.out.line(`Next: capstan capability validate ${path.relative(ctx.io.cwd, dir) || "."}`);
  },
};

const validate: CommandSpec = {
  name: "validate",
  summary: "Check a capability directory offline, with the server's own validator",
  args: ["DIR"],
  details:
    "Prints errors, warnings, the components found and the publish-time scan's findings (the scan the " +
    "server runs on every publish; an org's policy refuses high findings unless it says otherwise). " +
    "Exits 1 when there are errors; findings alone do not change the exit status.",
  async run(ctx, input) {
    const dir = path.resolve(ctx.io.cwd, input.args[0]);
    const files = await readCapabilitySource(dir);
    const analysis = analyzeCapability(files);
    const scan = scanCapability(files, analysis.componentDetails);
    const label = labelOf(analysis, input.args[0]);
    if (ctx.json) {
      ctx.out.data({
        valid: analysis.errors.length === 0,
        name: analysis.manifest?.name ?? null,
        version: analysis.manifest?.version ?? null,
        errors: analysis.errors,
        warnings: analysis.warnings,
        component_counts: analysis.componentCounts,
        component_details: analysis.componentDetails,
        scan,
      });
      if (analysis.errors.length > 0) throw invalid(label, analysis, false);
      return;
    }
    printWarnings(ctx, analysis);
    printScan(ctx, scan);
    if (analysis.errors.length > 0) throw invalid(label, analysis, true);
    ctx.out.line(
      `${ctx.out.palette.green("✓")} ${label} is valid: ${formatComponents(analysis.componentCounts)}`,
    );
    ctx.out.line(`scan: ${formatScanSummary(scan.summary)}`);
    if (analysis.componentDetails.length > 0) {
      ctx.out.table(
        ["TYPE", "NAME", "PATH", "DESCRIPTION"],
        analysis.componentDetails.map((detail) => [
          detail.type,
          detail.name,
          detail.path,
          truncate(detail.description ?? null, 60),
        ]),
      );
    }
  },
};

const pack: CommandSpec = {
  name: "pack",
  summary: "Build the deterministic .tar.gz of a capability (same content, same bytes)",
  args: ["DIR"],
  options: {
    output: {
      type: "string",
      short: "o",
      value: "FILE",
      description: "Archive to write (default: NAME-VERSION.tar.gz)",
    },
    "dry-run": {
      type: "boolean",
      description:
        "List the files that would be packed, with their sizes, and what is left out; write nothing",
    },
  },
  details: `Entries are sorted, with mtime 0, uid/gid 0, no owner names, mode 0644 (files) or 0755
(directories). The runtime_digest printed is the one the server will compute.
Left out: .git/, .hg/, .svn/, .env*, __pycache__/, *.pyc, .DS_Store, node_modules/, the archive
being written, and whatever DIR/.capstanignore names (gitignore syntax; '!' re-includes). What was
left out is listed; an included file that looks like a secret (a private key, .npmrc,
credentials…) is warned about on stderr.`,
  async run(ctx, input) {
    const dir = path.resolve(ctx.io.cwd, input.args[0]);
    const explicit = input.string("output");
    const outputFor = (name: string, version: string) =>
      path.resolve(ctx.io.cwd, explicit ?? `${fileSafeName(name)}-${version}.tar.gz`);
    const { analysis, bundle, source } = await buildBundle(ctx, dir, input.args[0], outputFor);
    const manifest = analysis.manifest!;
    const file = outputFor(manifest.name, manifest.version);
    if (input.boolean("dry-run")) {
      printDryRun(ctx, manifest, source, bundle, file);
      return;
    }
    await writeFileAtomically(file, bundle.archive);
    const summary = {
      name: manifest.name,
      version: manifest.version,
      file,
      size_bytes: bundle.archive.length,
      file_count: bundle.fileManifest.length,
      artifact_sha256: bundle.sha256,
      runtime_digest: bundle.runtimeDigest,
      excluded: source.excluded,
    };
    if (ctx.json) {
      ctx.out.data(summary);
      return;
    }
    ctx.out.line(`Packed ${manifest.name}@${manifest.version} into ${file}`);
    ctx.out.fields([
      ["size", `${formatBytes(summary.size_bytes)} (${summary.file_count} files)`],
      ["sha256", summary.artifact_sha256],
      ["runtime_digest", summary.runtime_digest],
    ]);
  },
};

function printDryRun(
  ctx: CommandContext,
  manifest: { name: string; version: string },
  source: CapabilitySource,
  bundle: PackedBundle,
  file: string,
): void {
  const files = [...source.files].map(([name, content]) => ({ path: name, size_bytes: content.length }));
  const total = files.reduce((sum, item) => sum + item.size_bytes, 0);
  if (ctx.json) {
    ctx.out.data({
      dry_run: true,
      name: manifest.name,
      version: manifest.version,
      file,
      files,
      excluded: source.excluded,
      secrets: source.secrets,
      size_bytes: bundle.archive.length,
      runtime_digest: bundle.runtimeDigest,
    });
    return;
  }
  ctx.out.line(
    `Would pack ${manifest.name}@${manifest.version} into ${file} (nothing written): ${files.length} files, ${formatBytes(total)}, ${formatBytes(bundle.archive.length)} compressed`,
  );
  ctx.out.table(
    ["SIZE", "FILE"],
    files.map((item) => [formatBytes(item.size_bytes), item.path]),
  );
}

const push: CommandSpec = {
  name: "push",
  summary: "Validate, pack and publish a capability directory, or publish a packed .tar.gz",
  args: ["DIR|FILE.tar.gz"],
  options: {
    public: { type: "boolean", description: "Make the capability public (only when the name is new)" },
    sign: {
      type: "string",
      value: "KEYFILE",
      description: "Sign the bundle with this Ed25519 private key (DSSE, sent with the publish)",
    },
    tag: { type: "string", value: "TAG", description: "Then point this distribution tag at the version" },
  },
  details: `Publishing identical content again is a no-op; a changed one needs a new version.
A directory is packed as 'capability pack' does (same files left out, same warnings); an archive
(.tar.gz, .tgz) is published as it is, and the server checks it.
--public only applies to a new name: an existing capability keeps its visibility (change it with
'capstan capability visibility NAME --public').`,
  async run(ctx, input) {
    const target = path.resolve(ctx.io.cwd, input.args[0]);
    const keyFile = input.string("sign");
    // Read before any packing: a wrong key file fails at once.
    const signingKey =
      keyFile === undefined ? undefined : await loadPrivateKey(path.resolve(ctx.io.cwd, keyFile));
    let archive: Buffer;
    let identity: { name: string; version: string } | null = null;
    if (await isPackedFile(target)) {
      archive = await readFile(target);
      if (signingKey) identity = await identityOfArchive(archive);
    } else {
      const built = await buildBundle(ctx, target, input.args[0]);
      archive = built.bundle.archive;
      identity = built.analysis.manifest && {
        name: built.analysis.manifest.name,
        version: built.analysis.manifest.version,
      };
    }
    const { api, org } = await ctx.orgScope();
    let upload = { data: archive, contentType: "application/gzip" };
    if (signingKey) {
      if (!identity) throw new CliError("the bundle has no valid capability.yaml to sign");
      const envelope = signSubject(
        { org, capability: identity.name, version: identity.version, artifactSha256: sha256Hex(archive) },
        signingKey,
      );
      upload = multipartUpload(archive, JSON.stringify(envelope));
    }
    const progress = startProgress(ctx.io, "uploading", upload.data.length);
    const response = await api
      .post<ArtifactDetail>(apiPath`/org/${org}/capabilities`, {
        query: { public: input.boolean("public") ? true : undefined },
        raw: { ...upload, onProgress: (sent) => progress.update(sent) },
      })
      .finally(() => progress.finish());
    const artifact = response.body;
    const tag = input.string("tag");
    if (tag !== undefined) await putTag(ctx, artifact.name, tag, artifact.version);
    // The server only sets visibility on a new name: say so rather than let --public pass unnoticed.
    const keptPrivate = input.boolean("public") && !artifact.is_public;
    const visibilityNote = `${artifact.name} stays private: --public only applies when a capability is first published. Make it public with: capstan capability visibility ${artifact.name} --public`;
    if (ctx.json) {
      if (keptPrivate) ctx.out.note(`note: ${visibilityNote}`);
      ctx.out.data({ created: response.status === 201, ...artifact });
      return;
    }
    const label = `${artifact.name}@${artifact.version}`;
    ctx.out.line(
      response.status === 201
        ? `Published ${label} to ${org}.`
        : `${label} was already published with identical content: nothing changed.`,
    );
    ctx.out.fields([
      ["id", artifact.id],
      ["visibility", artifact.is_public ? "public" : "private"],
      ["components", formatComponents(artifact.component_counts)],
      ["sha256", artifact.artifact_sha256],
      ["runtime_digest", artifact.runtime_digest],
      ["signed by", artifact.signatures?.map((s) => s.key_name).join(", ") || "-"],
    ]);
    if (keptPrivate) ctx.out.note(`note: ${visibilityNote}`);
    if (tag !== undefined) ctx.out.line(`Tagged ${label} as ${tag}.`);
  },
};

/** The name and version a packed archive's manifest declares (to sign it before sending it). */
async function identityOfArchive(archive: Buffer): Promise<{ name: string; version: string }> {
  const bundle = await readBundle(
    archive,
    bundleLimitsFor(Math.max(archive.length, DEFAULT_MAX_BUNDLE_BYTES)),
  ).catch((error) => {
    if (error instanceof BundleRejectedError) throw new CliError("the archive cannot be read", error.issues);
    throw error;
  });
  const manifest = analyzeCapability(new Map(bundle.files.map((file) => [file.path, file.content]))).manifest;
  if (!manifest) throw new CliError("the archive has no valid capability.yaml to sign");
  return { name: manifest.name, version: manifest.version };
}

/** multipart/form-data: the `bundle` file, then one `signature` field (SPEC §14). */
function multipartUpload(archive: Buffer, envelope: string): { data: Buffer; contentType: string } {
  const boundary = `----capstan-${randomBytes(12).toString("hex")}`;
  return {
    data: Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="bundle.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`,
      ),
      archive,
      Buffer.from(
        `\r\n--${boundary}\r\nContent-Disposition: form-data; name="signature"\r\nContent-Type: application/json\r\n\r\n${envelope}\r\n--${boundary}--\r\n`,
      ),
    ]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

const tag: CommandSpec = {
  name: "tag",
  summary: "Point a distribution tag at a version; bindings auto-updating on it follow",
  args: ["NAME@VERSION", "TAG"],
  details: "'latest' is computed (the highest release) and cannot be set.",
  async run(ctx, input) {
    const ref = exactVersion(ctx, input.args[0]);
    const tags = await putTag(ctx, ref.name, input.args[1], ref.version);
    if (ctx.json) ctx.out.data(tags);
    else ctx.out.line(`Tagged ${ref.name}@${ref.version} as ${input.args[1]}.`);
  },
};

const untag: CommandSpec = {
  name: "untag",
  summary: "Remove a distribution tag; bindings tracking it stay where they are",
  args: ["NAME", "TAG"],
  async run(ctx, input) {
    const ref = capabilityRef(ctx, input.args[0]);
    const { api, org } = await ctx.orgScope();
    await api.delete(`${capabilityPath(org, ref.name)}/tags/${encodeURIComponent(input.args[1])}`);
    if (ctx.json) ctx.out.data({ name: ref.name, tag: input.args[1], deleted: true });
    else ctx.out.line(`Removed tag ${input.args[1]} from ${ref.name}.`);
  },
};

async function putTag(ctx: CommandContext, name: string, tagName: string, version: string) {
  const { api, org } = await ctx.orgScope();
  return (
    await api.put<Record<string, string>>(
      `${capabilityPath(org, name)}/tags/${encodeURIComponent(tagName)}`,
      {
        json: { version },
      },
    )
  ).body;
}

/** A packed bundle rather than a capability directory: a regular file named like an archive. */
async function isPackedFile(target: string): Promise<boolean> {
  const info = await stat(target).catch(() => null);
  if (info === null || info.isDirectory()) return false;
  if (/\.(tar\.gz|tgz)$/i.test(target)) return true;
  throw new CliError(
    `${target} is neither a capability directory nor a packed .tar.gz`,
    [],
    "Pass the capability's directory, or an archive made by 'capstan capability pack'.",
  );
}

const list: CommandSpec = {
  name: "list",
  summary: "List the org's capabilities, each with its latest version",
  options: {
    search: { type: "string", value: "TEXT", description: "Match name, description or keywords" },
    keyword: {
      type: "string",
      multiple: true,
      value: "WORD",
      description: "Any of these keywords (repeatable)",
    },
    "include-public": { type: "boolean", description: "Also list other orgs' public capabilities" },
    sort: {
      type: "string",
      value: "FIELD",
      description: "name, author_name, license, created_at, updated_at",
    },
    page: { type: "string", value: "N", description: "Page number (default 1)" },
    limit: { type: "string", value: "N", description: "Rows per page, 1..100 (default 20)" },
  },
  async run(ctx, input) {
    const { api, org } = await ctx.orgScope();
    const page = (
      await api.get<ArtifactPage>(apiPath`/org/${org}/capabilities`, {
        query: {
          search: input.string("search"),
          keywords: input.list("keyword"),
          include_public: input.boolean("include-public") || undefined,
          sort_by: sortOf(ctx, input),
          page: positiveInteger(ctx, input, "page"),
          limit: positiveInteger(ctx, input, "limit"),
        },
      })
    ).body;
    if (ctx.json) {
      const { capabilities, ...pageInfo } = page;
      ctx.out.data({ items: capabilities, ...pageInfo });
      return;
    }
    if (page.capabilities.length === 0) {
      ctx.out.line("No capabilities.");
      return;
    }
    ctx.out.table(
      ["NAME", "VERSION", "STATUS", "VISIBILITY", "COMPONENTS", "UPDATED", "DESCRIPTION"],
      page.capabilities.map((item) => [
        item.name,
        item.version,
        item.status,
        item.is_public ? "public" : "private",
        formatComponents(item.component_counts),
        formatTimestamp(item.updated_at),
        truncate(item.description, 50),
      ]),
    );
    if (page.total_pages > 1)
      ctx.out.line(`page ${page.page} of ${page.total_pages} (${page.total} capabilities)`);
  },
};

const info: CommandSpec = {
  name: "info",
  summary: "Show a capability version: metadata, components, flags",
  args: ["NAME[@VERSION]"],
  async run(ctx, input) {
    const ref = capabilityRef(ctx, input.args[0]);
    const { api, org } = await ctx.orgScope();
    const artifact = (await api.get<ArtifactDetail>(versionPath(org, ref.name, ref.version ?? "latest")))
      .body;
    if (ctx.json) {
      ctx.out.data(artifact);
      return;
    }
    printArtifact(ctx, artifact);
  },
};

const versions: CommandSpec = {
  name: "versions",
  summary: "List every version of a capability, newest first",
  args: ["NAME"],
  async run(ctx, input) {
    const ref = capabilityRef(ctx, input.args[0]);
    const { api, org } = await ctx.orgScope();
    const listing = (await api.get<VersionList>(`${capabilityPath(org, ref.name)}/versions`)).body;
    if (ctx.json) {
      const { versions: items, ...rest } = listing;
      ctx.out.data({ ...rest, items });
      return;
    }
    ctx.out.table(
      ["VERSION", "STATUS", "PUBLISHED", "SIZE", "MESSAGE"],
      listing.versions.map((item) => [
        item.version === listing.latest_version ? `${item.version} (latest)` : item.version,
        item.status,
        formatTimestamp(item.created_at),
        formatBytes(item.size_bytes),
        truncate(item.deprecation_message, 60),
      ]),
    );
  },
};

const deprecate: CommandSpec = {
  name: "deprecate",
  summary: "Mark a version deprecated (still installable, shown with a message)",
  args: ["NAME@VERSION"],
  options: {
    message: {
      type: "string",
      short: "m",
      value: "MSG",
      description: "Why, and what to use instead (≤ 500 chars)",
    },
    undo: { type: "boolean", description: "Make the version active again" },
  },
  async run(ctx, input) {
    const message = input.string("message");
    if (!input.boolean("undo") && !message) throw ctx.usageError("missing -m MSG");
    await setStatus(
      ctx,
      input,
      input.boolean("undo") ? { status: "active" } : { status: "deprecated", message },
    );
  },
};

const yank: CommandSpec = {
  name: "yank",
  summary: "Yank a version: hidden from latest and new installs; bindings keep it",
  args: ["NAME@VERSION"],
  options: { undo: { type: "boolean", description: "Make the version active again" } },
  async run(ctx, input) {
    await setStatus(ctx, input, { status: input.boolean("undo") ? "active" : "yanked" });
  },
};

const remove: CommandSpec = {
  name: "delete",
  summary: "Delete a version for good (its number is never reused)",
  args: ["NAME@VERSION"],
  options: {
    force: { type: "boolean", description: "Also remove the runtime bindings that use it" },
    ...YES_OPTION,
  },
  details: "Asks first on a terminal; elsewhere (scripts, pipes) it needs --yes.",
  async run(ctx, input) {
    const ref = exactVersion(ctx, input.args[0]);
    const { api, org } = await ctx.orgScope();
    await confirm(ctx, input, {
      question: `Delete ${ref.name}@${ref.version} from ${org} for good${input.boolean("force") ? ", with the bindings that use it" : ""}?`,
      refusal: `not deleting ${ref.name}@${ref.version}`,
    });
    await api.delete(versionPath(org, ref.name, ref.version), {
      query: { force: input.boolean("force") || undefined },
    });
    if (ctx.json) ctx.out.data({ name: ref.name, version: ref.version, deleted: true });
    else ctx.out.line(`Deleted ${ref.name}@${ref.version}.`);
  },
};

const visibility: CommandSpec = {
  name: "visibility",
  summary: "Make a capability (all its versions) public or private",
  args: ["NAME"],
  options: {
    public: { type: "boolean", description: "Readable by every authenticated user" },
    private: { type: "boolean", description: "Readable by the org's members only" },
  },
  async run(ctx, input) {
    const ref = capabilityRef(ctx, input.args[0]);
    if (input.boolean("public") === input.boolean("private"))
      throw ctx.usageError("pass exactly one of --public, --private");
    const { api, org } = await ctx.orgScope();
    const result = (
      await api.patch<VisibilityResult>(`${capabilityPath(org, ref.name)}/visibility`, {
        json: { is_public: input.boolean("public") },
      })
    ).body;
    if (ctx.json) ctx.out.data(result);
    else ctx.out.line(result.message);
  },
};

const download: CommandSpec = {
  name: "download",
  summary: "Download a version's bundle, checked against its digest",
  args: ["NAME[@VERSION]"],
  options: {
    output: {
      type: "string",
      short: "o",
      value: "FILE",
      description: "Where to save it (default: NAME-VERSION.tar.gz)",
    },
  },
  async run(ctx, input) {
    const ref = capabilityRef(ctx, input.args[0]);
    const { api, org } = await ctx.orgScope();
    const version = await concreteVersion(ctx, ref);
    const link = (await api.get<BundleLink>(`${versionPath(org, ref.name, version)}/bundle`)).body;
    const progress = startProgress(ctx.io, "downloading", link.size_bytes);
    const archive = await downloadVerified(api, link.download_url, link.digest, {
      maxBytes: Math.max(link.size_bytes, DEFAULT_MAX_BUNDLE_BYTES),
      onProgress: (received) => progress.update(received),
    }).finally(() => progress.finish());
    const file = path.resolve(
      ctx.io.cwd,
      input.string("output") ?? `${fileSafeName(ref.name)}-${version}.tar.gz`,
    );
    await writeFileAtomically(file, archive);
    if (ctx.json)
      ctx.out.data({ name: ref.name, version, file, size_bytes: archive.length, digest: link.digest });
    else
      ctx.out.line(
        `Saved ${ref.name}@${version} to ${file} (${formatBytes(archive.length)}, ${link.digest}).`,
      );
  },
};

const verifyCommand: CommandSpec = {
  name: "verify",
  summary: "Check a version's signatures here: download the bundle, verify each DSSE envelope",
  args: ["NAME@VERSION"],
  details: `Trusts nothing the server says about the signatures: the bundle is downloaded and hashed
here, and each envelope is verified over DSSE's PAE with the org's current signing keys
('capstan signing-key list'), naming this bundle. Exit code 1 when none verifies.`,
  async run(ctx, input) {
    const ref = capabilityRef(ctx, input.args[0]);
    const { api, org } = await ctx.orgScope();
    const version = await concreteVersion(ctx, ref);
    const link = (await api.get<BundleLink>(`${versionPath(org, ref.name, version)}/bundle`)).body;
    const archive = await downloadVerified(api, link.download_url, link.digest, {
      maxBytes: Math.max(link.size_bytes, DEFAULT_MAX_BUNDLE_BYTES),
    });
    const keys = (
      await api.get<{ items: SigningKey[] }>(apiPath`/org/${org}/signing-keys`)
    ).body.items.filter((key) => key.revoked_at === null);
    const listed = (await api.get<SignatureEnvelopeList>(`${versionPath(org, ref.name, version)}/signatures`))
      .body;
    const subject = { org, capability: ref.name, version, artifactSha256: sha256Hex(archive) };
    const results = listed.signatures.map((item, index) => {
      try {
        const { keys: verifiedBy } = verifyEnvelope(
          envelopeFrom(item.envelope, ["signatures", index]),
          subject,
          keys,
          ["signatures", index],
        );
        return { key_name: verifiedBy.map((key) => key.name).join(", "), ok: true, problem: null };
      } catch (error) {
        if (!(error instanceof SignatureError)) throw error;
        return { key_name: item.key_name, ok: false, problem: error.message };
      }
    });
    const verified = results.some((result) => result.ok);
    const label = `${ref.name}@${version}`;
    if (ctx.json)
      ctx.out.data({
        name: ref.name,
        version,
        sha256: subject.artifactSha256,
        verified,
        signatures: results,
      });
    else {
      for (const result of results) {
        ctx.out.line(
          result.ok ? `ok: signed by ${result.key_name}` : `FAILED: ${result.key_name}: ${result.problem}`,
        );
      }
    }
    if (!verified)
      throw new CliError(`${label} has no signature that verifies with ${org}'s current signing keys`);
    if (!ctx.json) ctx.out.line(`${label} (sha256 ${subject.artifactSha256}) is signed.`);
  },
};

export const capabilityGroup: GroupSpec = {
  name: "capability",
  summary: "Author capabilities and manage them in the registry",
  commands: [
    init,
    validate,
    pack,
    push,
    list,
    info,
    versions,
    deprecate,
    yank,
    remove,
    visibility,
    download,
    verifyCommand,
    tag,
    untag,
  ],
};

// --- helpers ---------------------------------------------------------------------------------------

function capabilityPath(org: string, name: string): string {
  return apiPath`/org/${org}/capabilities/${name}`;
}

function versionPath(org: string, name: string, version: string): string {
  return `${capabilityPath(org, name)}${apiPath`/${version}`}`;
}

function capabilityRef(ctx: CommandContext, text: string): CapabilityRef {
  const ref = parseCapabilityRef(text);
  if (typeof ref === "string") throw ctx.usageError(ref);
  return ref;
}

function exactVersion(ctx: CommandContext, text: string): { name: string; version: string } {
  const ref = capabilityRef(ctx, text);
  if (ref.version === null || ref.version === "latest") {
    throw ctx.usageError(`name the version: ${ref.name}@x.y.z`);
  }
  return { name: ref.name, version: ref.version };
}

async function concreteVersion(ctx: CommandContext, ref: CapabilityRef): Promise<string> {
  if (ref.version !== null && ref.version !== "latest") return ref.version;
  const { api, org } = await ctx.orgScope();
  return (await api.get<ArtifactDetail>(versionPath(org, ref.name, "latest"))).body.version;
}

async function setStatus(
  ctx: CommandContext,
  input: CommandInput,
  body: { status: "active" | "deprecated" | "yanked"; message?: string },
): Promise<void> {
  const ref = exactVersion(ctx, input.args[0]);
  const { api, org } = await ctx.orgScope();
  const artifact = (await api.patch<ArtifactDetail>(versionPath(org, ref.name, ref.version), { json: body }))
    .body;
  if (ctx.json) {
    ctx.out.data(artifact);
    return;
  }
  const verb = { active: "Reactivated", deprecated: "Deprecated", yanked: "Yanked" }[body.status];
  ctx.out.line(`${verb} ${ref.name}@${ref.version}.`);
}

const SORT_FIELDS = ["name", "author_name", "license", "created_at", "updated_at"] as const;

function sortOf(ctx: CommandContext, input: CommandInput): string | undefined {
  const sort = input.string("sort");
  return sort === undefined ? undefined : oneOf(ctx, "--sort", sort, SORT_FIELDS);
}

function positiveInteger(ctx: CommandContext, input: CommandInput, name: string): number | undefined {
  const text = input.string(name);
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw ctx.usageError(`--${name} must be a positive integer`);
  return Number(text);
}

/**
 * Reads, validates and packs a directory; refuses an invalid capability before any upload. Says
 * what was left out, and warns on stderr about included files that look like secrets (even with
 * --json: stderr is where a person looks). `outputFor` names the archive being written, which is
 * left out of itself, as is an earlier default-named one.
 */
async function buildBundle(
  ctx: CommandContext,
  dir: string,
  dirArgument: string,
  outputFor?: (name: string, version: string) => string,
): Promise<{ analysis: CapabilityAnalysis; bundle: PackedBundle; source: CapabilitySource }> {
  const source = await readCapabilitySelection(dir);
  let analysis = analyzeCapability(source.files);
  if (analysis.manifest !== null) {
    const { name, version } = analysis.manifest;
    const outputs = [path.join(dir, `${fileSafeName(name)}-${version}.tar.gz`)];
    if (outputFor) outputs.push(outputFor(name, version));
    const before = source.files.size;
    excludeOutputs(source, dir, outputs);
    if (source.files.size !== before) analysis = analyzeCapability(source.files);
  }
  if (!ctx.json) {
    // A secret-looking file gets the loud warning below instead of the validator's.
    printWarnings(ctx, {
      ...analysis,
      warnings: analysis.warnings.filter((warning) => warning.type !== "bundle.secret_file"),
    });
    for (const item of source.excluded) {
      const rule =
        item.source === "output file" ? "the archive being written" : `${item.source} "${item.rule}"`;
      ctx.out.note(`left out: ${item.path} (${rule})`);
    }
  }
  for (const secret of source.secrets) {
    ctx.out.note(
      ctx.out.palette.red(
        `WARNING: ${secret.path} looks like a secret (${secret.reason}) and is included in the bundle; list it in ${path.join(dirArgument, ".capstanignore")} to leave it out`,
      ),
    );
  }
  if (analysis.errors.length > 0) throw invalid(labelOf(analysis, dirArgument), analysis, true);
  const bundle = await packBundle(source.files);
  if (bundle.archive.length > DEFAULT_MAX_BUNDLE_BYTES) {
    const size = formatBytes(bundle.archive.length);
    ctx.out.note(
      `warning: the bundle is ${size}; servers accept ${formatBytes(DEFAULT_MAX_BUNDLE_BYTES)} by default`,
    );
  }
  return { analysis, bundle, source };
}

function labelOf(analysis: CapabilityAnalysis, fallback: string): string {
  return analysis.manifest ? `${analysis.manifest.name}@${analysis.manifest.version}` : fallback;
}

function printWarnings(ctx: CommandContext, analysis: CapabilityAnalysis): void {
  for (const warning of analysis.warnings) ctx.out.note(`warning: ${formatIssue(warning)}`);
}

/** The scan's findings, one line each (suppressed ones marked), on stderr like the warnings. */
function printScan(ctx: CommandContext, scan: ScanReport): void {
  const { palette } = ctx.out;
  const paint = { high: palette.red, medium: palette.yellow, low: palette.dim };
  for (const finding of scan.findings) {
    const where = `${finding.path}:${finding.line}`;
    const waived = finding.suppressed ? palette.dim(` (suppressed: ${finding.suppressed.reason})`) : "";
    ctx.out.note(
      `scan: ${paint[finding.severity](finding.severity)} ${finding.rule} ${where}: ${finding.message}${waived}`,
    );
  }
}

function formatScanSummary(summary: ScanSummary | ArtifactDetail["scan"]): string {
  if (summary.status === "not_scanned") return "not scanned (published before scanning)";
  const { high, medium, low } = summary.counts;
  const counts = summary.status === "passed" ? "no findings" : `${high} high, ${medium} medium, ${low} low`;
  const suppressed = summary.suppressed > 0 ? `, ${summary.suppressed} suppressed` : "";
  return `${counts}${suppressed}${summary.complete ? "" : " (incomplete: a size bound stopped the scan)"}`;
}

function invalid(label: string, analysis: CapabilityAnalysis, withItems: boolean): CliError {
  const count = analysis.errors.length;
  return new CliError(
    `${label} is not valid (${count} error${count === 1 ? "" : "s"})`,
    withItems ? analysis.errors : [],
  );
}

function printArtifact(ctx: CommandContext, artifact: ArtifactDetail): void {
  const status =
    artifact.status === "deprecated" && artifact.deprecation_message
      ? `deprecated: ${artifact.deprecation_message}`
      : artifact.status;
  ctx.out.fields([
    ["name", artifact.name],
    ["version", artifact.version],
    ["status", status],
    ["description", truncate(artifact.description, 200)],
    ["author", artifact.author_name],
    ["license", artifact.license],
    ["keywords", artifact.keywords.join(", ")],
    ["visibility", artifact.is_public ? "public" : "private"],
    ["versions", artifact.versions.join(", ")],
    ["published", formatTimestamp(artifact.created_at)],
    ["size", `${formatBytes(artifact.size_bytes)} (${artifact.file_manifest.length} files)`],
    ["sha256", artifact.artifact_sha256],
    ["runtime_digest", artifact.runtime_digest],
    ["components", formatComponents(artifact.component_counts)],
    ["scan", formatScanSummary(artifact.scan)],
  ]);
  if (artifact.component_details.length > 0) {
    ctx.out.line();
    ctx.out.table(
      ["TYPE", "NAME", "PATH", "DESCRIPTION"],
      artifact.component_details.map((detail) => [
        detail.type,
        detail.name,
        detail.path,
        truncate(detail.description ?? null, 60),
      ]),
    );
  }
  const flags = Object.entries(artifact.flags).sort(([a], [b]) => (a < b ? -1 : 1));
  if (flags.length > 0) {
    ctx.out.line();
    ctx.out.table(
      ["FLAG", "DEFAULT", "DESCRIPTION"],
      flags.map(([name, flag]) => [name, String(flag.default), truncate(flag.description, 70)]),
    );
  }
  for (const warning of artifact.warnings) ctx.out.note(`warning: ${formatIssue(warning)}`);
}
