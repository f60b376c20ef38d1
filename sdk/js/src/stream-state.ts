/**
 * What a chat stream has delivered so far: where to resume from, and the reply until now.
 * A frame whose id was seen already (a resume overlapping what arrived) is dropped, so the
 * caller sees every chunk exactly once.
 */

import { APIConnectionError, LLMChatError, errorFromFrame } from "./errors.js";
import type { ServerSentEvent } from "./sse.js";
import type { ChatChunk, StreamEnd, Usage } from "./types.js";

/**
 * A resume's answer when the reply has ended and nothing follows the frame it names: the
 * reply is complete (SSE's "stop reconnecting"), not a broken stream to retry.
 */
export const NOTHING_AFTER = 204;

export type Accepted = { kind: "chunk"; chunk: ChatChunk } | { kind: "end"; end: StreamEnd };

export class StreamState {
  sessionId: string | undefined;
  end: StreamEnd | undefined;
  private readonly parts: string[] = [];

  constructor(
    public messageId: string | undefined = undefined,
    public lastEventId = 0,
  ) {}

  /** The reply's text as far as it has been read. */
  get text(): string {
    return this.parts.join("");
  }

  get usage(): Usage | undefined {
    return this.end?.usage;
  }

  get finishReason(): string | undefined {
    return this.end?.finishReason ?? undefined;
  }

  /** The chunk or end an event carries; undefined for one to skip. An error frame throws. */
  accept(event: ServerSentEvent): Accepted | undefined {
    const frameId = event.id !== undefined && /^\d+$/.test(event.id) ? Number(event.id) : undefined;
    if (frameId !== undefined && frameId <= this.lastEventId) return undefined;
    const data = parseFrame(event.data);
    if (typeof data.messageId === "string") this.messageId = data.messageId;
    if (typeof data.sessionId === "string") this.sessionId = data.sessionId;
    if (frameId !== undefined) this.lastEventId = frameId;
    switch (event.event) {
      case "chunk": {
        const chunk = { type: "text", content: "", ...data, eventId: frameId ?? 0 } as ChatChunk;
        this.parts.push(chunk.content);
        return { kind: "chunk", chunk };
      }
      case "end":
        this.end = data as unknown as StreamEnd;
        return { kind: "end", end: this.end };
      case "error":
        throw errorFromFrame(data);
      default:
        return undefined;
    }
  }

  /** The message id to resume; throws if the stream broke before saying it. */
  resumeTarget(cause?: unknown): string {
    if (this.messageId === undefined) {
      const message = "the stream broke before its first frame, so it cannot be resumed";
      throw new APIConnectionError(message, { code: "CONNECTION_ERROR", cause });
    }
    return this.messageId;
  }
}

function parseFrame(data: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed === "object" && parsed !== null) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new LLMChatError(`a stream frame is not a JSON object: ${data.slice(0, 200)}`, {
    code: "MALFORMED_FRAME",
  });
}
