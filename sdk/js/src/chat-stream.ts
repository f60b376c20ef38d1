/**
 * `ChatStream`: a streamed reply's chunks, resumed transparently if the connection drops.
 *
 * If the connection breaks (or ends without the `end` frame), the stream asks
 * `GET /chat/streams/{messageId}` with `Last-Event-ID` for the frames after the last one it
 * saw, and carries on: the caller sees every chunk exactly once.
 */

import { APIConnectionError, LLMChatError } from "./errors.js";
import * as routes from "./routes.js";
import { serverSentEvents } from "./sse.js";
import { NOTHING_AFTER, StreamState } from "./stream-state.js";
import { type Transport, worthRetrying } from "./transport.js";
import type { Cancelled, ChatChunk, StreamEnd, Usage } from "./types.js";

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/** `for await` it for `ChatChunk`s; afterwards `text`, `usage` and the ids are known. */
export class ChatStream implements AsyncIterable<ChatChunk> {
  private iterated = false;

  constructor(
    private readonly transport: Transport,
    private response: Response,
    private readonly state: StreamState,
    private readonly signal?: AbortSignal,
  ) {}

  get messageId(): string | undefined {
    return this.state.messageId;
  }

  get sessionId(): string | undefined {
    return this.state.sessionId;
  }

  /** The reply as far as it has been read. */
  get text(): string {
    return this.state.text;
  }

  get usage(): Usage | undefined {
    return this.state.usage;
  }

  get finishReason(): string | undefined {
    return this.state.finishReason;
  }

  get end(): StreamEnd | undefined {
    return this.state.end;
  }

  /** The id of the last frame read: where `client.chat.streams.resume` would carry on. */
  get lastEventId(): number {
    return this.state.lastEventId;
  }

  [Symbol.asyncIterator](): AsyncGenerator<ChatChunk, void, undefined> {
    if (this.iterated) throw new TypeError("a ChatStream can be iterated only once");
    this.iterated = true;
    return this.readAll();
  }

  /** Read the rest of the reply; its whole text. */
  async untilDone(): Promise<string> {
    for await (const _ of this) {
      // the chunks gather in `text`
    }
    return this.text;
  }

  /** Stop the reply on the server (it ends with finish reason `cancelled`). */
  async cancel(): Promise<Cancelled> {
    const messageId = this.state.messageId;
    if (messageId === undefined) {
      throw new LLMChatError("the message id is known once the first chunk has arrived");
    }
    return this.transport.data<Cancelled>(routes.cancelStream(messageId));
  }

  /** Let go of the connection without reading the rest. */
  async close(): Promise<void> {
    await this.response.body?.cancel().catch(() => undefined);
  }

  private async *readAll(): AsyncGenerator<ChatChunk, void, undefined> {
    let failures = 0;
    for (;;) {
      if (this.response.status === NOTHING_AFTER) return;
      let cause: unknown;
      try {
        const body = this.response.body;
        if (body === null) throw new APIConnectionError("the stream has no body");
        for await (const event of serverSentEvents(body)) {
          const item = this.state.accept(event);
          if (item?.kind === "end") return;
          if (item?.kind === "chunk") {
            failures = 0;
            yield item.chunk;
          }
        }
      } catch (error) {
        // Error frames and the caller's own abort end the stream; a broken connection does not.
        if ((error instanceof LLMChatError && !worthRetrying(error)) || this.signal?.aborted) {
          throw error;
        }
        cause = error;
      }
      failures = await this.resume(cause, failures);
    }
  }

  /** Reopen the stream after the last frame seen; the failures in a row it took. */
  private async resume(cause: unknown, failures: number): Promise<number> {
    const policy = this.transport.streamPolicy;
    const messageId = this.state.resumeTarget(cause);
    let lastCause = cause;
    while (failures < policy.resumeAttempts) {
      failures += 1;
      await pause(policy.delayMs(failures), this.signal);
      const call = routes.resumeStream(messageId, this.state.lastEventId, this.signal);
      try {
        this.response = await this.transport.send(call);
        return failures;
      } catch (error) {
        if (!worthRetrying(error)) throw error;
        lastCause = error;
      }
    }
    throw new APIConnectionError(
      `the stream of message ${messageId} could not be resumed after ${failures} attempts ` +
        `(last frame ${this.state.lastEventId})`,
      { code: "CONNECTION_ERROR", cause: lastCause },
    );
  }
}
