// Requirements between capabilities (SPEC §13): a version's `requires` names other capabilities
// (`name` in the requiring capability's own org, or `owner/name`) with a semver range. Installing
// checks them against the runtime's bindings, and with `with_dependencies` binds what is missing
// (the highest visible version satisfying the range) in the caller's transaction.
import type { Dialect } from "../db/connect.js";
import {
  type CapabilityRef,
  findCapabilityByOwner,
  insertBinding,
  type VersionRow,
} from "../db/repositories/binding-repository.js";
import { holdCapability } from "../db/repositories/capability-repository.js";
import { listInstallableVersions, listRuntimeRequirements } from "../db/repositories/tag-repository.js";
import type { Db } from "../db/schema.js";
import { compareSemver, isPrerelease, satisfiesRange } from "../domain/semver.js";
import type { Issue } from "../domain/types.js";
import { AppError, conflict } from "../errors.js";
import { newId } from "../lib/ids.js";
import { assertSignedIfRequired } from "./signing-service.js";
import { requiresOf } from "./upgrade-preview.js";

export interface RequirementContext {
  trx: Db;
  dialect: Dialect;
  runtime: { id: string; org_id: string };
  at: string;
  withDependencies: boolean;
  /** The runtime's `policy.require_signed` (SPEC §14): a dependency bound for it must be signed too. */
  requireSigned?: boolean;
}

/** A binding made to satisfy a requirement: for the audit trail and the response. */
export interface DependencyBinding {
  id: string;
  capability_id: string;
  name: string;
  version: string;
}

interface Bound {
  capability_id: string;
  enabled: boolean;
  version: string;
}

/** Who owns the requiring version: bare requirement names are in its org. */
export interface Requirer {
  capability: { id: string; org_id: string; name: string; owner_key: string };
  version: Pick<VersionRow, "version" | "manifest">;
}

/**
 * Checks (and with `withDependencies` satisfies) every requirement of `root`, depth first. Throws
 * 422 with one item per problem: `binding.missing_dependency`, `binding.dependency_conflict`,
 * `binding.dependency_cycle`. Returns the bindings it made.
 */
export async function satisfyRequirements(
  context: RequirementContext,
  root: Requirer,
): Promise<DependencyBinding[]> {
  const rows = await listRuntimeRequirements(context.trx, context.runtime.id);
  const bound = new Map<string, Bound>(
    rows.map((row) => [
      row.capability_id,
      { capability_id: row.capability_id, enabled: row.enabled === 1, version: row.version },
    ]),
  );
  const issues: Issue[] = [];
  const made: DependencyBinding[] = [];
  const path = [root.capability.id];
  const visit = async (requirer: Requirer): Promise<void> => {
    for (const [reference, range] of Object.entries(requiresOf(JSON.parse(requirer.version.manifest)))) {
      const label = `${displayOf(requirer)} requires ${reference} ${range}`;
      const capability = await requiredCapability(context, requirer, reference);
      if (!capability) {
        issues.push(issue("binding.missing_dependency", reference, `${label}, which is not visible here`));
        continue;
      }
      if (path.includes(capability.id)) {
        issues.push(issue("binding.dependency_cycle", reference, `${label}: a requirement cycle`));
        continue;
      }
      const existing = bound.get(capability.id);
      if (existing) {
        if (!satisfiesRange(existing.version, range)) {
          issues.push(
            issue("binding.dependency_conflict", reference, `${label}, but ${existing.version} is bound`),
          );
        } else if (!existing.enabled) {
          issues.push(
            issue("binding.missing_dependency", reference, `${label}, which is bound but disabled`),
          );
        }
        continue;
      }
      if (!context.withDependencies) {
        issues.push(
          issue(
            "binding.missing_dependency",
            reference,
            `${label}; bind it first or install with_dependencies`,
          ),
        );
        continue;
      }
      const version = await highestSatisfying(context, capability, range);
      if (!version) {
        issues.push(
          issue("binding.missing_dependency", reference, `${label}; no installable version satisfies it`),
        );
        continue;
      }
      // The same policy as a direct bind: 409 (the whole install rolls back) for an unsigned one.
      await assertSignedIfRequired(context.trx, context.requireSigned === true, version, reference);
      const name =
        capability.org_id === context.runtime.org_id
          ? capability.name
          : `${capability.owner_key}/${capability.name}`;
      const id = newId();
      await insertBinding(
        context.trx,
        {
          id,
          org_id: context.runtime.org_id,
          runtime_id: context.runtime.id,
          capability_id: capability.id,
          version_id: version.id,
          enabled: 1,
          flags: "{}",
          revision: 1,
          track: null,
          created_at: context.at,
          updated_at: context.at,
        },
        name,
      );
      bound.set(capability.id, { capability_id: capability.id, enabled: true, version: version.version });
      made.push({ id, capability_id: capability.id, name, version: version.version });
      path.push(capability.id);
      await visit({ capability, version });
      path.pop();
    }
  };
  await visit(root);
  if (issues.length > 0) {
    throw new AppError(
      "validation_error",
      "The capability's requirements are not met on this runtime",
      issues,
    );
  }
  return made;
}

/**
 * Refuses to remove or disable a binding that another enabled binding of the runtime requires
 * (409 naming it). Costs one query over the runtime's bindings.
 */
export async function assertNotRequired(
  db: Db,
  runtimeId: string,
  target: { bindingId: string; capabilityId: string; name: string; ownerKey: string; orgId: string },
  action: "removed" | "disabled",
): Promise<void> {
  const rows = await listRuntimeRequirements(db, runtimeId);
  const dependants = rows.filter((row) => {
    if (row.id === target.bindingId || row.enabled !== 1) return false;
    return Object.keys(requiresOf(JSON.parse(row.manifest))).some((reference) => {
      const slash = reference.indexOf("/");
      const owner = slash === -1 ? row.owner_key : reference.slice(0, slash);
      const name = slash === -1 ? reference : reference.slice(slash + 1);
      return owner === target.ownerKey && name === target.name;
    });
  });
  if (dependants.length === 0) return;
  const names = dependants.map((row) => `${row.name}@${row.version}`).sort();
  throw conflict(
    `'${target.name}' cannot be ${action}: ${names.join(", ")} require${names.length === 1 ? "s" : ""} it`,
  );
}

async function requiredCapability(
  context: RequirementContext,
  requirer: Requirer,
  reference: string,
): Promise<CapabilityRef | undefined> {
  const slash = reference.indexOf("/");
  const owner = slash === -1 ? requirer.capability.owner_key : reference.slice(0, slash);
  const name = slash === -1 ? reference : reference.slice(slash + 1);
  const capability = await findCapabilityByOwner(context.trx, owner, name);
  // Visible to the runtime's org: its own, or public.
  if (!capability || (capability.org_id !== context.runtime.org_id && capability.is_public !== 1))
    return undefined;
  return capability;
}

/** The highest active or deprecated version in the range; a prerelease only if the range names it. */
async function highestSatisfying(
  context: RequirementContext,
  capability: CapabilityRef,
  range: string,
): Promise<VersionRow | undefined> {
  // Held (FOR SHARE on PostgreSQL) so a concurrent yank or delete cannot slip under the binding.
  await holdCapability(context.trx, context.dialect, capability.id);
  const versions = await listInstallableVersions(context.trx, capability.id);
  const matching = versions.filter((v) => satisfiesRange(v.version, range));
  matching.sort(
    (a, b) =>
      compareSemver(b.version, a.version) ||
      Number(isPrerelease(a.version)) - Number(isPrerelease(b.version)),
  );
  return matching[0];
}

function displayOf(requirer: Requirer): string {
  return `${requirer.capability.name}@${requirer.version.version}`;
}

function issue(type: string, reference: string, msg: string): Issue {
  return { loc: ["body", "name"], msg: msg.replace(reference, `'${reference}'`), type };
}

/**
 * After a declarative apply: every enabled binding's requirements are bound, enabled and in range
 * (422 otherwise, which rolls the apply back). One query over the runtime's bindings.
 */
export async function assertRuntimeRequirements(
  db: Db,
  runtimeId: string,
  touched: ReadonlySet<string> = new Set(),
): Promise<void> {
  const rows = await listRuntimeRequirements(db, runtimeId);
  const byName = new Map(rows.map((row) => [`${row.owner_key}/${row.name}`, row]));
  const issues: Issue[] = [];
  // A requirement of a binding the apply left alone, broken by what the apply did to its dependency
  // (moved out of range, disabled, removed): the same 409 as a PATCH or DELETE of that dependency.
  const broken: Issue[] = [];
  for (const row of rows) {
    if (row.enabled !== 1) continue;
    for (const [reference, range] of Object.entries(requiresOf(JSON.parse(row.manifest)))) {
      const key = reference.includes("/") ? reference : `${row.owner_key}/${reference}`;
      const label = `${row.name}@${row.version} requires '${reference}' ${range}`;
      const dependency = byName.get(key);
      const loc = ["body", "config", "capabilities"];
      const satisfied = dependency?.enabled === 1 && satisfiesRange(dependency.version, range);
      if (!satisfied && touched.has(key) && !touched.has(`${row.owner_key}/${row.name}`)) {
        broken.push({
          loc,
          msg: `${label}, which ${dependency ? (dependency.enabled === 1 ? `${dependency.version} does not satisfy` : "is disabled") : "is removed"}`,
          type: "binding.dependency_conflict",
        });
      } else if (dependency?.enabled !== 1) {
        issues.push({
          loc,
          msg: `${label}, which is not bound and enabled`,
          type: "binding.missing_dependency",
        });
      } else if (!satisfiesRange(dependency.version, range)) {
        issues.push({
          loc,
          msg: `${label}, but ${dependency.version} is bound`,
          type: "binding.dependency_conflict",
        });
      }
    }
  }
  if (broken.length > 0) {
    throw new AppError(
      "conflict_error",
      `The apply breaks requirements of bindings it leaves as they are: ${broken.map((item) => item.msg.replace(/, which .*$/, "")).join("; ")}`,
      broken,
    );
  }
  if (issues.length > 0) {
    throw new AppError(
      "validation_error",
      "The capabilities' requirements are not met on this runtime",
      issues,
    );
  }
}

/** A binding of a runtime as the move check reads it; `requires` is its bound version's. */
export interface RequirementBinding {
  capability_id: string;
  owner_key: string;
  name: string;
  /** How the runtime's org names it: `name`, or `owner/name` for another org's capability. */
  display: string;
  enabled: boolean;
  version: string;
  requires: Record<string, string>;
}

/** What moving one binding to another version would break on its runtime. */
export interface MoveCheck {
  /** The target's own requirements the runtime does not meet (the moving binding is enabled). */
  unmet: Issue[];
  /** Enabled bindings whose range for the moving capability the target leaves: each names one. */
  dependants: Issue[];
}

/**
 * Checks a move of `moving` to `target` against the runtime's other bindings, as they stand after
 * the move. Pure: the caller loads the bindings (one query per runtime, or one batch for many).
 */
export function checkMove(
  bindings: readonly RequirementBinding[],
  moving: RequirementBinding,
  target: { version: string; requires: Record<string, string> },
  loc: Issue["loc"],
): MoveCheck {
  const after = (binding: RequirementBinding): RequirementBinding =>
    binding.capability_id === moving.capability_id ? { ...binding, ...target } : binding;
  const byKey = new Map(bindings.map((binding) => [`${binding.owner_key}/${binding.name}`, after(binding)]));
  const keyOf = (owner: RequirementBinding, reference: string) =>
    reference.includes("/") ? reference : `${owner.owner_key}/${reference}`;
  const unmet: Issue[] = [];
  if (moving.enabled) {
    for (const [reference, range] of Object.entries(target.requires)) {
      const label = `${moving.display}@${target.version} requires '${reference}' ${range}`;
      const dependency = byKey.get(keyOf(moving, reference));
      if (!dependency?.enabled) {
        unmet.push({
          loc,
          msg: `${label}, which is not bound and enabled`,
          type: "binding.missing_dependency",
        });
      } else if (!satisfiesRange(dependency.version, range)) {
        unmet.push({
          loc,
          msg: `${label}, but ${dependency.version} is bound`,
          type: "binding.dependency_conflict",
        });
      }
    }
  }
  const movingKey = `${moving.owner_key}/${moving.name}`;
  const dependants: Issue[] = [];
  for (const binding of bindings) {
    if (binding.capability_id === moving.capability_id || !binding.enabled) continue;
    for (const [reference, range] of Object.entries(binding.requires)) {
      if (keyOf(binding, reference) !== movingKey || satisfiesRange(target.version, range)) continue;
      dependants.push({
        loc,
        msg: `${binding.display}@${binding.version} requires '${reference}' ${range}, which ${target.version} does not satisfy`,
        type: "binding.dependency_conflict",
      });
    }
  }
  return { unmet, dependants };
}

/** The requirement view of listRuntimeRequirements' rows (one manifest parse each). */
export function requirementBindings(
  rows: Awaited<ReturnType<typeof listRuntimeRequirements>>,
  runtimeOrgId: string,
): RequirementBinding[] {
  return rows.map((row) => ({
    capability_id: row.capability_id,
    owner_key: row.owner_key,
    name: row.name,
    display: row.capability_org_id === runtimeOrgId ? row.name : `${row.owner_key}/${row.name}`,
    enabled: row.enabled === 1,
    version: row.version,
    requires: requiresOf(JSON.parse(row.manifest)),
  }));
}

/**
 * Refuses (409 `conflict_error`, one `binding.dependency_conflict` item per dependant) to move a
 * binding to a version outside the range another enabled binding of the runtime requires of it.
 */
export async function assertDependantsAccept(
  db: Db,
  runtime: { id: string; org_id: string },
  capabilityId: string,
  target: { version: string },
  loc: Issue["loc"],
): Promise<void> {
  const bindings = requirementBindings(await listRuntimeRequirements(db, runtime.id), runtime.org_id);
  const moving = bindings.find((binding) => binding.capability_id === capabilityId);
  if (!moving) return;
  const { dependants } = checkMove(
    bindings,
    moving,
    { version: target.version, requires: moving.requires },
    loc,
  );
  if (dependants.length === 0) return;
  throw new AppError(
    "conflict_error",
    `'${moving.display}' cannot move to ${target.version}: ${dependants.map((item) => item.msg.replace(/, which .*$/, "")).join("; ")}`,
    dependants,
  );
}
