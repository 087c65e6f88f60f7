// `capstan webhook list|create|delete|deliveries|redeliver` (SPEC §15, §16), for org owners. The
// signing secret is printed once, by `create`; nothing can show it again.
import type {
  Webhook,
  WebhookCreated,
  WebhookDelivery,
  WebhookDeliveryList,
} from "../../contract/webhooks.js";
import { apiPath } from "../api-client.js";
import { CliError } from "../cli-errors.js";
import type { CommandContext, CommandSpec, GroupSpec } from "../command.js";
import { confirm, YES_OPTION } from "../confirm.js";

const list: CommandSpec = {
  name: "list",
  summary: "List the org's webhooks (owner)",
  async run(ctx) {
    const hooks = await listHooks(ctx);
    if (ctx.json) {
      ctx.out.data({ items: hooks });
      return;
    }
    ctx.out.table(
      ["ID", "URL", "EVENTS", "STATUS", "FAILING SINCE"],
      hooks.map((hook) => [hook.id, hook.url, hook.events.join(","), hook.status, hook.failing_since ?? "-"]),
    );
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Register a webhook; prints its signing secret once (owner)",
  args: ["URL"],
  options: {
    events: {
      type: "string",
      multiple: true,
      value: "TYPES",
      description: "Event types to send: a type, 'prefix.*' or '*' (repeat or comma-separate; default '*')",
    },
    description: { type: "string", value: "TEXT", description: "What the endpoint is for" },
  },
  details: `Deliveries follow the Standard Webhooks specification: verify 'webhook-signature' with the
secret printed here (whsec_...). Store it now: it is never shown again.`,
  async run(ctx, input) {
    const events = input
      .list("events")
      .flatMap((value) => value.split(","))
      .map((value) => value.trim())
      .filter((value) => value !== "");
    const description = input.string("description");
    const { api, org } = await ctx.orgScope();
    const hook = (
      await api.post<WebhookCreated>(apiPath`/org/${org}/webhooks`, {
        json: {
          url: input.args[0],
          events: events.length > 0 ? events : ["*"],
          ...(description !== undefined ? { description } : {}),
        },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data(hook);
      return;
    }
    ctx.out.note(`Created webhook ${hook.id} in ${org}. Its signing secret (shown only now):`);
    ctx.out.line(hook.secret);
  },
};

const remove: CommandSpec = {
  name: "delete",
  summary: "Delete a webhook and its delivery log (owner)",
  args: ["ID"],
  options: YES_OPTION,
  async run(ctx, input) {
    const hook = await findHook(ctx, input.args[0]);
    await confirm(ctx, input, {
      question: `Delete webhook ${hook.id} (${hook.url})? Its delivery log goes with it.`,
      refusal: `not deleting webhook ${hook.id}`,
    });
    const { api, org } = await ctx.orgScope();
    await api.delete(apiPath`/org/${org}/webhooks/${hook.id}`);
    if (ctx.json) ctx.out.data({ deleted: true, webhook: hook });
    else ctx.out.line(`Deleted webhook ${hook.id} in ${org}.`);
  },
};

const deliveries: CommandSpec = {
  name: "deliveries",
  summary: "A webhook's deliveries, newest first, with status, duration and the response excerpt",
  args: ["ID"],
  options: {
    status: { type: "string", value: "STATUS", description: "Only pending, succeeded or failed ones" },
    limit: { type: "string", value: "N", description: "How many (1-100, default 20)" },
  },
  async run(ctx, input) {
    const status = input.string("status");
    if (status !== undefined && !["pending", "succeeded", "failed"].includes(status)) {
      throw new CliError(`--status must be pending, succeeded or failed, not '${status}'`);
    }
    const limit = Number(input.string("limit") ?? "20");
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new CliError("--limit must be 1-100");
    const { api, org } = await ctx.orgScope();
    const page = (
      await api.get<WebhookDeliveryList>(apiPath`/org/${org}/webhooks/${input.args[0]}/deliveries`, {
        query: { limit, ...(status !== undefined ? { status } : {}) },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data(page);
      return;
    }
    ctx.out.table(
      ["ID", "EVENT", "STATUS", "ATTEMPTS", "LAST", "CODE", "MS", "ERROR"],
      page.items.map((delivery) => [
        delivery.id,
        delivery.event_type,
        delivery.status,
        String(delivery.attempts),
        delivery.last_attempt_at ?? "-",
        delivery.last_status_code === null ? "-" : String(delivery.last_status_code),
        delivery.last_duration_ms === null ? "-" : String(delivery.last_duration_ms),
        delivery.last_error ?? "",
      ]),
    );
  },
};

const redeliver: CommandSpec = {
  name: "redeliver",
  summary: "Send a delivery again now, whatever its status (owner)",
  args: ["ID", "DELIVERY_ID"],
  async run(ctx, input) {
    const [hookId, deliveryId] = input.args;
    const { api, org } = await ctx.orgScope();
    const delivery = (
      await api.post<WebhookDelivery>(
        apiPath`/org/${org}/webhooks/${hookId}/deliveries/${deliveryId}/redeliver`,
        { json: {} },
      )
    ).body;
    if (ctx.json) ctx.out.data(delivery);
    else ctx.out.line(`Delivery ${delivery.id} (${delivery.event_type}) will be sent again now.`);
  },
};

export const webhookGroup: GroupSpec = {
  name: "webhook",
  summary: "Webhooks: the org's events sent to an HTTP endpoint (owner)",
  commands: [list, create, remove, deliveries, redeliver],
};

async function listHooks(ctx: CommandContext): Promise<Webhook[]> {
  const { api, org } = await ctx.orgScope();
  return (await api.get<{ items: Webhook[] }>(apiPath`/org/${org}/webhooks`)).body.items;
}

async function findHook(ctx: CommandContext, id: string): Promise<Webhook> {
  const hook = (await listHooks(ctx)).find((item) => item.id === id.toLowerCase());
  if (!hook) throw new CliError(`no webhook '${id}'`, [], "See 'capstan webhook list'.");
  return hook;
}
