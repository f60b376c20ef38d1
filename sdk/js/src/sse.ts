/**
 * An incremental server-sent events decoder: bytes in, whole events out.
 *
 * Bytes may be split anywhere, inside a line or inside a UTF-8 character; lines may end in
 * CRLF, LF or CR. An event is dispatched only at its blank line, so an event cut off by a
 * dropped connection is never seen (the stream is resumed from the last whole one instead).
 * Comment lines (`: keep-alive`) are skipped.
 */

export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | undefined;
}

const LINE_BREAK = /\r\n|\r|\n/;

export class SSEDecoder {
  private readonly text = new TextDecoder("utf-8");
  private pending = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;
  private afterCR = false;

  /** The events completed by `chunk`. */
  feed(chunk: Uint8Array): ServerSentEvent[] {
    let text = this.text.decode(chunk, { stream: true });
    if (text === "") return []; // only part of a UTF-8 character so far
    if (this.afterCR && text.startsWith("\n")) text = text.slice(1); // a CRLF split in two
    this.afterCR = text.endsWith("\r");
    const lines = (this.pending + text).split(LINE_BREAK);
    this.pending = lines.pop() ?? "";
    const events: ServerSentEvent[] = [];
    for (const line of lines) {
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") this.event = value;
    else if (name === "data") this.data.push(value);
    else if (name === "id" && !value.includes("\0")) this.id = value;
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const { data, event } = this;
    this.data = [];
    this.event = "";
    if (data.length === 0) return undefined;
    return { event: event || "message", data: data.join("\n"), id: this.id };
  }
}

/** The events of a byte stream, as they complete. */
export async function* serverSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new SSEDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* decoder.feed(value);
    }
  } finally {
    // Early return or failure: let go of the connection (a no-op once the body is done).
    await reader.cancel().catch(() => undefined);
  }
}
