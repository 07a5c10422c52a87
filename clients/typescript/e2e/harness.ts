/**
 * What the browser tests share: the local run (`python -m local`) on a free port with a state
 * folder and an outbox of its own (never the developer's `.local-state/`), the "app" (an empty page
 * and the built client as ES modules under /client/) on another localhost port, and Chromium.
 *
 * Needs the repository's Python (.venv, or CIQ_PYTHON) and Chromium (/usr/bin/chromium, or CHROMIUM).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import assert from "node:assert/strict";
import { after, before } from "node:test";

import { type Browser, chromium } from "playwright-core";

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const REPOSITORY = resolve(PACKAGE, "../..");
const BUILT_CLIENT = join(PACKAGE, "dist/src");
const START_TIMEOUT_MS = 90_000;

export interface LocalRun {
  process: ChildProcess;
  url: string;
  scratch: string;
}

/** Starts the local run; resolves with its URL once it says it is ready. */
export async function startLocalRun(): Promise<LocalRun> {
  const python = process.env.CIQ_PYTHON ?? join(REPOSITORY, ".venv/bin/python");
  const scratch = mkdtempSync(join(tmpdir(), "ciq-e2e-"));
  const env: NodeJS.ProcessEnv = {
    PORT: "0",
    LOCAL_OUTBOX_PATH: join(scratch, "outbox.jsonl"),
    LOCAL_STATE_DIR: join(scratch, "state"),
    PYTHONUNBUFFERED: "1",
  };
  for (const name of ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"]) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  const child = spawn(python, ["-m", "local"], { cwd: REPOSITORY, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local run did not start:\n${output}`)), START_TIMEOUT_MS);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /Local API ready on http:\/\/localhost:(\d+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolvePromise({ process: child, url: `http://localhost:${found[1]}`, scratch });
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the local run exited with ${code}:\n${output}`));
    });
  });
}

/** The "app": an empty page, and the built client as ES modules under /client/. */
export async function startSite(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/") {
      response.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>app</title>");
      return;
    }
    const file = normalize(join(BUILT_CLIENT, path.replace(/^\/client\//, "")));
    if (!path.startsWith("/client/") || !file.startsWith(BUILT_CLIENT) || !file.endsWith(".js")) {
      response.writeHead(404).end();
      return;
    }
    try {
      response.writeHead(200, { "Content-Type": "text/javascript" }).end(readFileSync(file));
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return server;
}

export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** Stops whatever was started; waits for the local run to exit, then removes its folder. */
export async function stopAll(api?: LocalRun, site?: Server, browser?: Browser): Promise<void> {
  await browser?.close();
  await new Promise((done) => (site ? site.close(done) : done(undefined)));
  if (api) {
    const exited = new Promise((done) => api.process.once("exit", done));
    api.process.kill("SIGTERM");
    await exited;
    rmSync(api.scratch, { recursive: true, force: true });
  }
}

export interface Stack {
  api: LocalRun;
  site: Server;
  browser: Browser;
}

/** Starts the local run, the app's site and Chromium before a test file's tests and stops them
 * after; the getter hands them to a test. */
export function useStack(): () => Stack {
  const started: Partial<Stack> = {};
  before(async () => {
    started.api = await startLocalRun();
    started.site = await startSite();
    started.browser = await launchChromium();
  });
  after(async () => {
    await stopAll(started.api, started.site, started.browser);
  });
  return () => {
    const { api, site, browser } = started;
    assert.ok(api && site && browser, "the local run, the site or Chromium did not start");
    return { api, site, browser };
  };
}
