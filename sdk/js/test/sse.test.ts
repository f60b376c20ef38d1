/** The SSE decoder on its own: any split of the bytes gives the same whole events. */

import assert from "node:assert/strict";
import { test } from "node:test";

import { SSEDecoder } from "../src/index.js";

const FRAMES = new TextEncoder().encode(
  ": keep-alive\n\n" +
    'id: 2\nevent: chunk\ndata: {"content":"你好 \u2028 🚀"}\n\n' +
    'id: 3\r\nevent: end\r\ndata: {"type":"end"}\r\n\r\n' +
    "id: 4\revent: chunk\rdata: a\rdata: b\r\r" +
    "id: 5\nevent: chunk\ndata: torn",
);

for (const size of [1, 2, 3, 5, 7, FRAMES.length]) {
  test(`the SSE decoder handles the bytes split every ${size}`, () => {
    const decoder = new SSEDecoder();
    const events = [];
    for (let start = 0; start < FRAMES.length; start += size) {
      events.push(...decoder.feed(FRAMES.slice(start, start + size)));
    }
    assert.deepEqual(
      events.map((event) => [event.id, event.event]),
      [
        ["2", "chunk"],
        ["3", "end"],
        ["4", "chunk"],
      ],
    );
    assert.equal(JSON.parse(events[0]?.data ?? "").content, "你好 \u2028 🚀");
    assert.equal(events[2]?.data, "a\nb");
  });
}
