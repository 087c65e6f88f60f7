import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  configFilePath,
  readConfigFile,
  resolveConnection,
  selectProfileName,
  writeConfigFile,
} from "../../src/cli/profile-store.js";

describe("profiles", () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-profiles-"));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  test("the config file is $CAPSTAN_CONFIG, else under $XDG_CONFIG_HOME, else under ~/.config", () => {
    assert.equal(configFilePath({ CAPSTAN_CONFIG: "/etc/c.json", XDG_CONFIG_HOME: "/x" }), "/etc/c.json");
    assert.equal(configFilePath({ XDG_CONFIG_HOME: "/x", HOME: "/home/u" }), "/x/capstan/config.json");
    assert.equal(configFilePath({ HOME: "/home/u" }), "/home/u/.config/capstan/config.json");
  });

  test("is written readable by its owner only, in a private directory", async () => {
    const file = path.join(scratch, "nested", "config.json");
    await writeConfigFile(file, {
      current_profile: "default",
      profiles: { default: { url: "http://x", token: "t" } },
    });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
    assert.deepEqual(await readConfigFile(file), {
      current_profile: "default",
      profiles: { default: { url: "http://x", token: "t" } },
    });
  });

  test("a missing file reads as no profiles", async () => {
    assert.deepEqual(await readConfigFile(path.join(scratch, "absent.json")), { profiles: {} });
  });

  test("a broken file is reported, not overwritten", async () => {
    const file = path.join(scratch, "broken.json");
    await writeFile(file, "{not json");
    await assert.rejects(readConfigFile(file), /is not valid JSON/);
    assert.equal(await readFile(file, "utf8"), "{not json");
  });

  test("CAPSTAN_URL, CAPSTAN_TOKEN, CAPSTAN_ORG and CAPSTAN_WORKSPACE override the profile", () => {
    const config = { profiles: { default: { url: "http://a", token: "ta", org: "oa", workspace: "wa" } } };
    const env = { CAPSTAN_URL: "http://b", CAPSTAN_TOKEN: "tb", CAPSTAN_ORG: "ob", CAPSTAN_WORKSPACE: "wb" };
    assert.deepEqual(resolveConnection(config, env, { name: "default", source: "default" }), {
      profile: "default",
      url: "http://b",
      token: "tb",
      org: "ob",
      workspace: "wb",
      sources: {
        profile: "default",
        url: "env CAPSTAN_URL",
        token: "env CAPSTAN_TOKEN",
        org: "env CAPSTAN_ORG",
        workspace: "env CAPSTAN_WORKSPACE",
      },
    });
    const kept = resolveConnection(config, { CAPSTAN_ORG: "" }, "default");
    assert.equal(kept.org, "oa");
    assert.equal(kept.sources.org, "profile default");
  });

  test("--profile wins over $CAPSTAN_PROFILE, which wins over the current profile", () => {
    const config = { current_profile: "work", profiles: {} };
    assert.equal(selectProfileName(config, { CAPSTAN_PROFILE: "env" }, "flag"), "flag");
    assert.equal(selectProfileName(config, { CAPSTAN_PROFILE: "env" }, undefined), "env");
    assert.equal(selectProfileName(config, {}, undefined), "work");
    assert.equal(selectProfileName({ profiles: {} }, {}, undefined), "default");
  });
});
