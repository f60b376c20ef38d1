/** Two ways to break a stream mid-reply: a fetch that tears the body, and a TCP proxy to kill. */

import { type Server, type Socket, connect, createServer } from "node:net";

const NEWLINE = 10;

/** `body` until `frames` SSE frames have passed, plus a shred of the next; then an error. */
function cutAfterFrames(
  body: ReadableStream<Uint8Array>,
  frames: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let left = frames;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      for (let i = 0; i + 1 < value.length; i++) {
        if (value[i] === NEWLINE && value[i + 1] === NEWLINE && --left === 0) {
          controller.enqueue(value.slice(0, i + 2 + 7));
          await reader.cancel();
          controller.error(new TypeError("terminated", { cause: new Error("cut by the test") }));
          return;
        }
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

export interface CuttingFetch {
  fetch: typeof fetch;
  /** `METHOD /path` of every request. */
  requests: string[];
  readonly cut: boolean;
}

/** A fetch that passes everything through but breaks the first event stream after `frames`. */
export function cuttingFetch(frames: number): CuttingFetch {
  const requests: string[] = [];
  let cut = false;
  const wrapped: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push(`${init?.method ?? "GET"} ${url.pathname}`);
    const response = await fetch(input, init);
    const type = response.headers.get("content-type") ?? "";
    if (cut || !type.startsWith("text/event-stream") || response.body === null) return response;
    cut = true;
    return new Response(cutAfterFrames(response.body, frames), {
      status: response.status,
      headers: response.headers,
    });
  };
  return {
    fetch: wrapped,
    requests,
    get cut() {
      return cut;
    },
  };
}

/** A TCP proxy on loopback whose open connections a test can kill at any moment. */
export class TcpProxy {
  /** Connections accepted so far. */
  accepted = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      this.accepted += 1;
      const upstream = connect(targetPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async start(targetPort: number): Promise<{ proxy: TcpProxy; port: number }> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    const address = proxy.server.address();
    return { proxy, port: typeof address === "object" && address ? address.port : 0 };
  }

  /** Kill every open connection; new ones are let through. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
