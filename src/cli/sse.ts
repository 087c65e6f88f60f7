// A Server-Sent Events reader (the WHATWG format): what `capstan events --follow` reads the event
// stream with. Yields each dispatched message and each comment line (heartbeats), so a caller can
// tell a live stream from a silent one.

export type SseItem =
  | { kind: "message"; id: string | null; event: string; data: string }
  | { kind: "comment"; text: string };

/** Longest line accepted: a stream sending more without a newline is not an event stream. */
const MAX_LINE = 4 * 1024 * 1024;

export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseItem> {
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | null = null;
  let event = "";
  let data: string[] = [];
  const lineItems = function* (line: string): Generator<SseItem> {
    if (line === "") {
      if (data.length > 0) yield { kind: "message", id, event: event || "message", data: data.join("\n") };
      event = "";
      data = [];
      return;
    }
    if (line.startsWith(":")) {
      yield { kind: "comment", text: line.slice(1).trimStart() };
      return;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id" && !value.includes("\u0000")) id = value;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r\n|\r|\n/);
    while (newline !== -1) {
      const line = buffer.slice(0, newline);
      const width = buffer.startsWith("\r\n", newline) ? 2 : 1;
      buffer = buffer.slice(newline + width);
      yield* lineItems(line);
      newline = buffer.search(/\r\n|\r|\n/);
    }
    if (buffer.length > MAX_LINE) throw new Error("the event stream sent a line longer than 4 MiB");
  }
}
