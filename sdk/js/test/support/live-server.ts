/**
 * A live `llmchat serve` for the tests, from this repository: a fresh PostgreSQL database,
 * the fake LLM provider (tests/fake_provider) and an agents file naming both kinds of agent.
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const ADMIN_EMAIL = "admin@sdk-js.test";
export const ADMIN_PASSWORD = "admin-password-1";

/** The repository root: the nearest folder above this file holding `api/cli.py`. */
export function repositoryRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, "api", "cli.py"))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error("the LLMChat repository root was not found");
    folder = parent;
  }
  return folder;
}

const ROOT = repositoryRoot();
const PYTHON = join(ROOT, ".venv", "bin", "python");
const PG = { host: process.env.PGHOST ?? "127.0.0.1", user: process.env.PGUSER ?? "postgres" };

function psql(sql: string): void {
  execFileSync("psql", ["-h", PG.host, "-U", PG.user, "-d", "postgres", "-q", "-c", sql], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** The bytes `expression` makes, evaluated with the names of the repository's `module`. */
function pythonOutput(module: string, expression: string): Buffer {
  const code = `import sys; from ${module} import *; sys.stdout.buffer.write(${expression})`;
  return execFileSync(PYTHON, ["-c", code], { cwd: ROOT });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function firstLine(child: ChildProcess): Promise<string> {
  if (!child.stdout) throw new Error("no stdout");
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) return line;
  throw new Error("the process ended before printing anything");
}

function agent(id: string, provider: string, endpoint: string, model: string): object {
  return {
    id,
    name: `${id} agent`,
    description: "for the SDK tests",
    category: "test",
    provider,
    endpoint,
    apiKey: provider === "demo" ? "" : "sk-test-key",
    model,
    capabilities: ["chat"],
    config: { temperature: 0.5, maxTokens: 512 },
  };
}

async function waitHealthy(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`llmchat serve exited early:\n${log()}`);
    try {
      const answer = await fetch(`${url}/health`);
      if (answer.ok && ((await answer.json()) as { status: string }).status === "healthy") return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`llmchat serve not healthy after 30 s:\n${log()}`);
}

export interface LiveServer {
  /** The API base, `http://127.0.0.1:<port>/api`. */
  apiURL: string;
  port: number;
  /** The text every fake-provider reply has (tests/fake_provider/wire.py REPLY_TEXT). */
  replyText: string;
  /** A folder of this run's own, removed at the end. */
  folder: string;
  /** A small DXF drawing (a LINE and a CIRCLE), written by ezdxf. */
  dxfPath: string;
  stop(): Promise<void>;
}

export async function startLiveServer(): Promise<LiveServer> {
  const folder = mkdtempSync(join(tmpdir(), "llmchat-sdk-js-"));
  const database = `llmchat_sdk_js_${process.pid}_${Date.now()}`;
  const children: ChildProcess[] = [];
  let serverLog = "";
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
    }
    psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    rmSync(folder, { recursive: true, force: true });
  };
  try {
    psql(`CREATE DATABASE ${database}`);
    const fake = spawn(PYTHON, ["-m", "tests.fake_provider", "--port", "0"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(fake);
    const fakeURL = (await firstLine(fake)).trim();
    const openai = `${fakeURL}/openai/v1`;
    const agentsFile = join(folder, "agents.json");
    const agents = [
      agent("demo", "demo", "", "demo-echo"),
      agent("openai", "openai", openai, "gpt-test"),
      agent("slow", "openai", openai, "gpt;interval=0.05;chunks=40"),
    ];
    writeFileSync(agentsFile, JSON.stringify({ agents }));
    const dxfPath = join(folder, "plan.dxf");
    writeFileSync(dxfPath, pythonOutput("tests.unit.test_cad", "to_bytes(simple_drawing())"));
    const replyText = pythonOutput("tests.fake_provider.wire", "REPLY_TEXT.encode()").toString();

    const port = await freePort();
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !name.startsWith("LLMCHAT_")) env[name] = value;
    }
    Object.assign(env, {
      LLMCHAT_DATABASE_URL: `postgresql://${PG.user}@${PG.host}:5432/${database}`,
      LLMCHAT_DATA_DIR: join(folder, "data"),
      LLMCHAT_AGENTS_FILE: agentsFile,
      LLMCHAT_JWT_SECRET: `sdk-js-secret-${"j".repeat(40)}`,
      LLMCHAT_ADMIN_EMAIL: ADMIN_EMAIL,
      LLMCHAT_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    const server = spawn(
      PYTHON,
      ["-c", "from api.cli import main; raise SystemExit(main())", "serve", "--port", String(port)],
      { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(server);
    server.stdout?.on("data", (data: Buffer) => (serverLog += data.toString()));
    server.stderr?.on("data", (data: Buffer) => (serverLog += data.toString()));
    const baseURL = `http://127.0.0.1:${port}`;
    await waitHealthy(baseURL, server, () => serverLog);
    return { apiURL: `${baseURL}/api`, port, replyText, folder, dxfPath, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
