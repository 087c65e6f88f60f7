// Events (SPEC §15): the cursor list and the Server-Sent Events stream of an org's changes; org
// readers (runtime tokens are refused, as on every route that does not opt in: a token reads its
// own runtime, not its org's history).
import { Type } from "typebox";
import { errorResponses, OrgParams } from "../contract/common.js";
import { EventListQuery, EventPage, EventStreamQuery } from "../contract/events.js";
import { listEvents, parseEventTypes, parseLastEventId } from "../services/event-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

export default async function eventRoutes(app: RouteApp): Promise<void> {
  const { events } = app.services;
  // Open streams end when the server starts closing, so it need not wait for their clients.
  app.addHook("preClose", (done) => {
    events.close();
    done();
  });

  app.get(
    "/org/:org/events",
    {
      schema: {
        operationId: "listEvents",
        tags: ["events"],
        summary: "The organization's events after a seq, oldest first (reader)",
        params: OrgParams,
        querystring: EventListQuery,
        response: { 200: EventPage, ...errorResponses },
      },
    },
    async (request) => listEvents(app.deps, scopeOf(request).actor, request.params.org, request.query),
  );

  app.get(
    "/org/:org/events/stream",
    {
      schema: {
        operationId: "streamEvents",
        tags: ["events"],
        summary: "The organization's events as Server-Sent Events, resumable with Last-Event-ID (reader)",
        description:
          "Each event is sent as `id: <seq>`, `event: <type>`, `data: <event JSON>`; a `: heartbeat` comment " +
          "every 15 s while idle. Reconnect with `Last-Event-ID` (or `?after=`) to miss nothing. Without " +
          "either, only events after the connection opens are sent.",
        params: OrgParams,
        querystring: EventStreamQuery,
        headers: Type.Object({ "last-event-id": Type.Optional(Type.String({ maxLength: 32 })) }),
        response: {
          200: {
            description: "text/event-stream",
            content: { "text/event-stream": { schema: Type.String() } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const header = request.headers["last-event-id"];
      const after = typeof header === "string" ? parseLastEventId(header) : (request.query.after ?? null);
      const types = parseEventTypes(request.query.types);
      const stream = await events.open(scopeOf(request).actor, request.params.org, after, types);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
        // The connection ends with the stream: it is never reused for another request.
        connection: "close",
        "x-request-id": request.id,
      });
      // Sent at once, so the client knows the stream is open (and where it starts).
      raw.write(`: stream of '${request.params.org}' after ${stream.start}\n\n`);
      // A client that left while the stream was being opened is not waited for.
      const socket = raw.socket;
      const gone = () => stream.stop();
      if (socket === null || socket.destroyed) stream.stop();
      else socket.once("close", gone);
      try {
        await stream.run(raw);
      } catch (error) {
        request.log.warn({ err: error }, "event stream failed");
        raw.destroy();
      } finally {
        socket?.off("close", gone);
      }
    },
  );
}
