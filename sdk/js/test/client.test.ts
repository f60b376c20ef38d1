/**
 * The SDK against a live `llmchat serve`: every route group, the spec's snippet as written,
 * token refresh, typed errors, and streams that survive a cut connection.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import {
  type ChatChunk,
  ConflictError,
  ForbiddenError,
  LLMChatClient,
  NotFoundError,
  RateLimitedError,
  type TokenPair,
  UnauthorizedError,
  ValidationError,
} from "../src/index.js";
import { cuttingFetch, TcpProxy } from "./support/cut-connections.js";
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  type LiveServer,
  startLiveServer,
} from "./support/live-server.js";

const PASSWORD = "correct-horse-1";
const SLOWLY = [{ role: "user", content: "tell me slowly" }]; // `slow`: 40 chunks, 50 ms apart

let server: LiveServer;
let userCount = 0;

before(async () => {
  server = await startLiveServer();
});

after(async () => {
  await server?.stop();
});

function uniqueEmail(): string {
  userCount += 1;
  return `sdk-js-${process.pid}-${Date.now()}-${userCount}@example.com`;
}

/** A client signed in as a fresh user. */
async function newUser(): Promise<{ email: string; client: LLMChatClient }> {
  const email = uniqueEmail();
  const client = new LLMChatClient({ baseURL: server.apiURL });
  await client.auth.register(email, PASSWORD, "SDK user");
  await client.login(email, PASSWORD);
  return { email, client };
}

async function admin(): Promise<LLMChatClient> {
  const client = new LLMChatClient({ baseURL: server.apiURL });
  await client.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  return client;
}

function assertWholeReplyOnce(chunks: ChatChunk[]): void {
  const ids = chunks.map((chunk) => chunk.eventId);
  assert.deepEqual(
    ids,
    [...new Set(ids)].sort((a, b) => a - b),
    "every frame once, in order",
  );
  assert.equal(chunks.map((chunk) => chunk.content).join(""), server.replyText);
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The spec's snippet, and streams that lose their connection

test("the spec's snippet prints the streamed reply", async (t) => {
  const { client: signedIn } = await newUser();
  const token = signedIn.token;
  const agentId = "openai";
  const printed: string[] = [];
  t.mock.method(console, "log", (text: string) => printed.push(text));

  // The spec's TypeScript snippet, word for word but for the address:
  // prettier-ignore
  const client = new LLMChatClient({ baseURL: server.apiURL, token });
  // prettier-ignore
  const response = await client.chat.completions({ agentId, messages: [{ role: 'user', content: '你好' }], stream: true });
  // prettier-ignore
  for await (const chunk of response) console.log(chunk.content);

  t.mock.restoreAll();
  assert.equal(printed.join(""), server.replyText);
});

test("a stream cut mid-frame is resumed and yields the whole reply once", async () => {
  const { client: signedIn } = await newUser();
  const cutting = cuttingFetch(5);
  const client = new LLMChatClient({
    baseURL: server.apiURL,
    token: signedIn.token,
    fetch: cutting.fetch,
  });

  const stream = await client.chat.completions({ agentId: "slow", messages: SLOWLY, stream: true });
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);

  assert.ok(cutting.cut);
  assert.ok(cutting.requests.some((request) => request.startsWith("GET /api/chat/streams/")));
  assertWholeReplyOnce(chunks);
  assert.equal(stream.text, server.replyText);
  assert.equal(stream.finishReason, "stop");
  assert.ok((stream.usage?.totalTokens ?? 0) > 0 && stream.messageId && stream.sessionId);
});

test("a stream survives its TCP connection being killed", async () => {
  const { client: signedIn } = await newUser();
  const { proxy, port } = await TcpProxy.start(server.port);
  try {
    const client = new LLMChatClient({
      baseURL: `http://127.0.0.1:${port}/api`,
      token: signedIn.token,
    });
    const chunks: ChatChunk[] = [];
    for await (const chunk of await client.chat.completions({
      agentId: "slow",
      messages: SLOWLY,
      stream: true,
    })) {
      chunks.push(chunk);
      if (chunks.length === 4) proxy.cut(); // every open connection dies here
    }
    assertWholeReplyOnce(chunks);
    assert.ok(proxy.accepted >= 2, "the stream was resumed over a new connection");
  } finally {
    await proxy.close();
  }
});

test("a finished stream can be replayed from any frame", async () => {
  const { client } = await newUser();
  const stream = await client.chat.completions({ agentId: "slow", messages: SLOWLY, stream: true });
  const first: ChatChunk[] = [];
  for await (const chunk of stream) {
    first.push(chunk);
    if (first.length === 2) break;
  }
  assert.ok(stream.messageId);
  const rest: ChatChunk[] = [];
  const lastEventId = first.at(-1)?.eventId ?? 0;
  for await (const chunk of await client.chat.streams.resume(stream.messageId, { lastEventId })) {
    rest.push(chunk);
  }
  assertWholeReplyOnce([...first, ...rest]);
});

test("resuming a finished reply after its end frame ends at once, without retrying", async () => {
  const { client } = await newUser();
  const stream = await client.chat.completions({
    agentId: "openai",
    messages: SLOWLY,
    stream: true,
  });
  assert.equal(await stream.untilDone(), server.replyText);
  const messageId = stream.messageId;
  assert.ok(messageId);
  const asked: string[] = [];
  const watching: typeof fetch = (input, init) => {
    asked.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
    return fetch(input, init);
  };
  const watched = new LLMChatClient({
    baseURL: server.apiURL,
    token: client.token,
    fetch: watching,
  });
  const started = Date.now();
  const rest: ChatChunk[] = [];
  const resumed = await watched.chat.streams.resume(messageId, { lastEventId: stream.lastEventId });
  for await (const chunk of resumed) rest.push(chunk);
  assert.deepEqual(rest, []);
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.deepEqual(asked, [`/api/chat/streams/${messageId}`], "asked once: 204 means done");
});

test("a stream can be cancelled", async () => {
  const { client } = await newUser();
  const stream = await client.chat.completions({ agentId: "slow", messages: SLOWLY, stream: true });
  let read = 0;
  for await (const _ of stream) {
    read += 1;
    if (read === 1) assert.equal((await stream.cancel()).finishReason, "cancelled");
  }
  assert.equal(stream.finishReason, "cancelled");
  assert.ok(read < 40);
});

// Auth: login keeps the tokens, a 401 refreshes them once, logout forgets them

test("a 401 refreshes the tokens once and retries", async () => {
  const { client } = await newUser();
  const seen: TokenPair[] = [];
  const stale = new LLMChatClient({
    baseURL: server.apiURL,
    token: "not-a-valid-token",
    refreshToken: client.refreshToken,
    onTokens: (pair) => seen.push(pair),
  });
  const [a, b] = await Promise.all([stale.agents.get("demo"), stale.agents.list()]);
  assert.equal(a.id, "demo");
  assert.ok(b.items.length > 0);
  assert.equal(seen.length, 1, "two 401s at once share one refresh");
  assert.equal(stale.token, seen[0]?.token);
});

test("a spent refresh token throws UnauthorizedError", async () => {
  const { client } = await newUser();
  const spent = client.refreshToken;
  await client.auth.refresh(); // rotates: the old refresh token is spent
  await client.auth.refresh(); // and again: past its grace as a concurrent use
  const stale = new LLMChatClient({
    baseURL: server.apiURL,
    token: "expired",
    refreshToken: spent,
  });
  await assert.rejects(stale.agents.list(), (error: unknown) => {
    assert.ok(error instanceof UnauthorizedError);
    assert.equal(error.status, 401);
    assert.equal(error.code, "UNAUTHORIZED");
    return true;
  });
  assert.equal(stale.refreshToken, undefined);
});

test("logout ends the sign-in", async () => {
  const { client } = await newUser();
  const token = client.token;
  await client.logout();
  assert.equal(client.token, undefined);
  await assert.rejects(
    new LLMChatClient({ baseURL: server.apiURL, token }).agents.list(),
    UnauthorizedError,
  );
});

test("errors carry the envelope's code, message and status", async () => {
  const { client, email } = await newUser();
  await assert.rejects(client.agents.get("no-such-agent"), (error: unknown) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.status, 404);
    assert.equal(error.code, "NOT_FOUND");
    assert.equal(error.errorType, "NotFoundError");
    assert.ok(error.message);
    return true;
  });
  await assert.rejects(
    client.chat.sessions.save({ sessionId: "not-a-uuid", title: "t", agentId: "demo" }),
    ValidationError,
  );
  const anonymous = new LLMChatClient({ baseURL: server.apiURL });
  let limited: unknown;
  for (let attempt = 0; attempt < 10 && !limited; attempt++) {
    await anonymous.login(email, "wrong-password-1").catch((error: unknown) => {
      if (!(error instanceof UnauthorizedError)) limited = error;
    });
  }
  assert.ok(limited instanceof RateLimitedError);
  assert.equal(limited.status, 429);
  assert.ok((limited.retryAfter ?? 0) > 0);
});

// Every route group

test("agents", async () => {
  const { client } = await newUser();
  const page = await client.agents.list({ limit: 2, provider: "openai" });
  assert.equal(page.pagination.limit, 2);
  assert.ok(page.items.every((agent) => agent.provider === "openai"));
  assert.equal((await client.agents.get("demo")).config.model, "demo-echo");
  assert.equal((await client.agents.status("openai")).reachable, true);

  await assert.rejects(client.agents.update("demo", { description: "nope" }), ForbiddenError);
  const administrator = await admin();
  const updated = await administrator.agents.update("openai", {
    description: "edited by the SDK",
    config: { maxTokens: 256 },
  });
  assert.equal(updated.description, "edited by the SDK");
  assert.equal(updated.config.maxTokens, 256);
  assert.deepEqual((await administrator.agents.reload()).registered, []);
});

test("blocking completion and sessions", async () => {
  const { client } = await newUser();
  const reply = await client.chat.completions({
    agentId: "openai",
    messages: [{ role: "user", content: "hi" }],
    config: { maxTokens: 100 },
  });
  assert.equal(reply.message.content, server.replyText);
  assert.ok(reply.usage.totalTokens > 0);

  const history = await eventually(
    () => client.chat.sessions.history(reply.sessionId),
    (page) => page.items.length === 2 && page.items[1]?.status !== "streaming",
  );
  assert.deepEqual(
    history.items.map((message) => message.role),
    ["user", "assistant"],
  );
  const sessions = await client.chat.sessions.list();
  assert.ok(sessions.items.some((session) => session.id === reply.sessionId));

  const sessionId = crypto.randomUUID();
  const saved = await client.chat.sessions.save({
    sessionId,
    title: "Saved",
    agentId: "demo",
    messages: [{ role: "user", content: "hello" }],
  });
  assert.equal(saved.messageCount, 1);
  await client.chat.sessions.delete(sessionId);
  await assert.rejects(client.chat.sessions.history(sessionId), NotFoundError);
});

test("files from a path, bytes and a Blob", async () => {
  const { client } = await newUser();
  const path = join(server.folder, "notes.txt");
  writeFileSync(path, "hello 你好\n");
  const byPath = await client.files.upload(path, { type: "document", description: "from a path" });
  assert.equal(byPath.originalName, "notes.txt");
  assert.equal(byPath.size, Buffer.byteLength("hello 你好\n"));
  const byBytes = await client.files.upload(new TextEncoder().encode("# Title\n"), {
    filename: "readme.md",
  });
  const byBlob = await client.files.upload(new File(["plain"], "plain.txt"));

  assert.equal((await client.files.get(byBytes.id)).originalName, "readme.md");
  assert.equal(new TextDecoder().decode(await client.files.download(byBlob)), "plain");
  const head = await client.files.download(byPath.id, { range: { first: 0, last: 4 } });
  assert.equal(new TextDecoder().decode(head), "hello");

  await client.files.delete(byPath.id);
  await assert.rejects(client.files.get(byPath.id), NotFoundError);
});

test("CAD parse and preview", async () => {
  const { client } = await newUser();
  const sent = await client.cad.parse(server.dxfPath);
  assert.deepEqual(
    sent.entities.map((entity) => entity.type),
    ["LINE", "CIRCLE"],
  );
  assert.equal(sent.entities[0]?.startPoint?.y, -1);
  assert.equal(sent.bounds.maxX, 10);

  const uploaded = await client.files.upload(server.dxfPath, { type: "cad" });
  assert.equal((await client.cad.parse({ fileId: uploaded.id })).entityCount, 2);
  assert.match(await client.cad.preview(uploaded.id), /^\s*<svg/);
});

test("health, metrics and API keys", async () => {
  const { client } = await newUser();
  const administrator = await admin();
  assert.equal((await client.health()).status, "healthy");
  assert.equal((await administrator.healthDetailed()).checks.database?.status, "healthy");
  await assert.rejects(client.metrics(), ForbiddenError);
  assert.match(await administrator.metrics(), /llmchat_/);

  const created = await administrator.admin.apiKeys.create({ name: "sdk-js-test", role: "user" });
  assert.match(created.key, /^llmk_/);
  const keys = await administrator.admin.apiKeys.list({ limit: 100 });
  assert.ok(keys.items.some((key) => key.id === created.id));
  assert.equal((await administrator.admin.apiKeys.revoke(created.id)).revoked, true);
});

test("budgets are set, read and removed, and a spent one refuses", async () => {
  const email = uniqueEmail();
  const client = new LLMChatClient({ baseURL: server.apiURL });
  const { user } = await client.auth.register(email, PASSWORD, "Budgeted");
  await client.login(email, PASSWORD);
  const administrator = await admin();
  const budget = await administrator.admin.budgets.set("user", user.id, {
    period: "day",
    tokens: 60,
  });
  assert.deepEqual(
    [budget.scope, budget.id, budget.tokens, budget.cost],
    ["user", user.id, 60, null],
  );
  assert.equal(budget.left.tokens, 60);
  const ask = {
    agentId: "openai",
    messages: [{ role: "user", content: "hi" }],
    config: { maxTokens: 40 },
  };
  await client.chat.completions(ask);
  await assert.rejects(client.chat.completions(ask), (error: unknown) => {
    assert.ok(error instanceof RateLimitedError);
    assert.equal(error.errorType, "BudgetExceeded");
    assert.ok((error.retryAfter ?? 0) > 0);
    return true;
  });
  assert.ok((await administrator.admin.budgets.get("user", user.id)).used.tokens > 0);
  await administrator.admin.budgets.remove("user", user.id);
  await assert.rejects(administrator.admin.budgets.get("user", user.id), NotFoundError);
});

test("a user is erased by an administrator or by themselves", async () => {
  const administrator = await admin();
  const erasedEmail = uniqueEmail();
  const erasedClient = new LLMChatClient({ baseURL: server.apiURL });
  const { user } = await erasedClient.auth.register(erasedEmail, PASSWORD, "Erased");
  await erasedClient.login(erasedEmail, PASSWORD);
  const erased = await administrator.admin.users.erase(user.id);
  assert.deepEqual([erased.id, erased.status, erased.erased], [user.id, "deactivated", true]);
  await assert.rejects(administrator.admin.users.erase(user.id), ConflictError);
  await assert.rejects(erasedClient.agents.list(), UnauthorizedError);

  const email = uniqueEmail();
  const client = new LLMChatClient({ baseURL: server.apiURL });
  const leaving = await client.auth.register(email, PASSWORD, "Leaving");
  await client.login(email, PASSWORD);
  await assert.rejects(client.auth.eraseMe("not-my-password"), UnauthorizedError);
  assert.equal((await client.auth.eraseMe(PASSWORD)).id, leaving.user.id);
  await assert.rejects(client.login(email, PASSWORD), (error) => {
    return error instanceof UnauthorizedError || error instanceof ForbiddenError;
  });
});

test("users are listed and changed, and a deactivated one is signed out", async () => {
  const email = uniqueEmail();
  const client = new LLMChatClient({ baseURL: server.apiURL });
  const { user } = await client.auth.register(email, PASSWORD, "Managed");
  await client.login(email, PASSWORD);
  const administrator = await admin();
  const changed = await administrator.admin.users.update(user.id, { role: "enterprise" });
  assert.deepEqual([changed.id, changed.role, changed.status], [user.id, "enterprise", "active"]);
  await assert.rejects(
    administrator.admin.users.update(user.id, { role: "root" } as never),
    ValidationError,
  );
  await assert.rejects(client.admin.users.list(), ForbiddenError);
  await administrator.admin.users.update(user.id, { status: "deactivated" });
  await assert.rejects(client.agents.list(), UnauthorizedError);
  const deadline = Date.now() + 10_000;
  let listed = await administrator.admin.users.list({ email, status: "deactivated" });
  while (listed.items.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    listed = await administrator.admin.users.list({ email, status: "deactivated" });
  }
  assert.deepEqual(
    listed.items.map((u) => [u.id, u.email, u.role]),
    [[user.id, email, "enterprise"]],
  );
});

test("admin stats and audit", async () => {
  const email = uniqueEmail();
  const client = new LLMChatClient({ baseURL: server.apiURL });
  const { user } = await client.auth.register(email, PASSWORD, "Audited");
  await client.login(email, PASSWORD);
  const administrator = await admin();

  const stats = await administrator.admin.stats();
  assert.ok(stats.users.total >= 2);
  assert.ok(stats.agents.categories.includes("test"));
  assert.ok(stats.system.environment && stats.system.version);

  const wanted = ["auth.login", "auth.register"];
  const audit = await eventually(
    () => administrator.admin.audit({ userId: user.id, limit: 10 }),
    (page) => wanted.every((action) => page.items.some((entry) => entry.action === action)),
  );
  const actions = new Set(audit.items.map((entry) => entry.action));
  assert.ok(
    wanted.every((action) => actions.has(action)),
    `audited: ${[...actions].join(", ")}`,
  );
  assert.ok(audit.items.every((entry) => entry.userId === user.id && entry.timestamp));
  const verified = await administrator.admin.verifyAudit();
  assert.ok(verified.intact && verified.auditChain.intact && verified.eventChain.intact);
  assert.ok(verified.eventChain.logHead >= verified.eventChain.verifiedTo);
  await assert.rejects(client.admin.stats(), ForbiddenError);
  await assert.rejects(client.admin.verifyAudit(), ForbiddenError);
});
