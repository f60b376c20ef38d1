"""A real browser on another origin: streams a chat with fetch, resumes it with EventSource.

Headless Chromium (Debian's `chromium`, which `.ci/run` installs) driven by Playwright. The page
comes from an origin of its own, so CORS (LLMCHAT_CORS_ORIGINS) is what lets it talk to us.
"""

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.fake_provider import REPLY_TEXT
from tests.support.builders import signed_in
from tests.support.server import ServerProcess, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PAGE = b"<!doctype html><html><head><title>llmchat browser test</title></head><body></body></html>"

# Reads `keep` frames of a streamed chat through fetch, drops it, then resumes with a native
# EventSource from the last id seen. The browser reconnects by itself after the `end` frame
# (with Last-Event-ID); a 204 must then close the source for good.
SCRIPT = """
async ({base, token, body, keep}) => {
  const response = await fetch(base + "/api/chat/completions", {
    method: "POST",
    headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    body: JSON.stringify(body),
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const fetched = [];
  let buffer = "";
  while (fetched.length < keep) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let cut;
    while ((cut = buffer.indexOf("\\n\\n")) >= 0 && fetched.length < keep) {
      const frame = {};
      for (const line of buffer.slice(0, cut).split("\\n")) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") frame.id = Number(value);
        if (field === "event") frame.event = value;
        if (field === "data") frame.data = JSON.parse(value);
      }
      buffer = buffer.slice(cut + 2);
      if (frame.id !== undefined) fetched.push(frame);
    }
  }
  await reader.cancel();
  const last = fetched[fetched.length - 1].id;
  const messageId = fetched[0].data.messageId;
  const resumed = [];
  let opened = 0;
  const closed = await new Promise((resolve) => {
    const query = "?token=" + encodeURIComponent(token) + "&lastEventId=" + last;
    const source = new EventSource(base + "/api/chat/streams/" + messageId + query);
    const take = (e) => resumed.push(
      {id: Number(e.lastEventId), event: e.type, data: JSON.parse(e.data)});
    source.onopen = () => { opened += 1; };
    source.addEventListener("chunk", take);
    source.addEventListener("end", take);
    source.addEventListener("error", (e) => {
      if (e.data !== undefined) { take(e); return; }
      if (source.readyState === EventSource.CLOSED) resolve(true);
    });
    setTimeout(() => { source.close(); resolve(false); }, 25000);
  });
  return {fetched, resumed, opened, closed};
}
"""


class PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    pages = ThreadingHTTPServer(("127.0.0.1", free_port()), PageHandler)
    thread = threading.Thread(target=pages.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{pages.server_address[1]}"
    pages.shutdown()
    pages.server_close()


@pytest.fixture(scope="module")
def cors_server(chat_env, page_origin) -> Iterator[ServerProcess]:
    process = ServerProcess({**chat_env, "LLMCHAT_CORS_ORIGINS": page_origin}, args=())
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def test_a_browser_streams_with_fetch_and_resumes_with_event_source(
    browser, cors_server, page_origin
):
    with httpx.Client(base_url=cors_server.base_url, timeout=30) as client:
        _, auth = signed_in(client)
    token = auth["Authorization"].removeprefix("Bearer ")
    page = browser.new_page()
    page.goto(page_origin + "/")
    body = {"agentId": "slow", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    result = page.evaluate(
        SCRIPT, {"base": cors_server.base_url, "token": token, "body": body, "keep": 3}
    )
    page.close()

    frames = result["fetched"] + result["resumed"]
    ids = [frame["id"] for frame in frames]
    assert ids == list(range(ids[0], ids[0] + len(ids))), f"every frame once, in order: {ids}"
    assert frames[-1]["event"] == "end" and frames[-1]["data"]["finishReason"] == "stop"
    text = "".join(f["data"]["content"] for f in frames if f["event"] == "chunk")
    assert text == REPLY_TEXT
    # Opened once, for the resume; the reconnect after `end` got 204, which closes it for good.
    assert result["closed"] is True, "the 204 after the end stops the EventSource"
    assert result["opened"] == 1
    assert token not in cors_server.log()
