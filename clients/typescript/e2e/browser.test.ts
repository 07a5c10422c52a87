/**
 * End to end in headless Chromium: a page served on one localhost port uses this client against the
 * local run (`python -m local`) on another port, with the session cookie (`credentials: "include"`),
 * as the Next.js app does in development.
 *
 * Needs the repository's Python (.venv, or CIQ_PYTHON) and Chromium (/usr/bin/chromium, or CHROMIUM).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, normalize, resolve } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";

import { type Browser, chromium } from "playwright-core";

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const REPOSITORY = resolve(PACKAGE, "../..");
const BUILT_CLIENT = join(PACKAGE, "dist/src");
const START_TIMEOUT_MS = 90_000;

let api: { process: ChildProcess; url: string; scratch: string } | undefined;
let site: Server | undefined;
let browser: Browser | undefined;

/** Starts the local run on a free port, with an outbox of its own; resolves with its URL. */
async function startLocalRun(): Promise<NonNullable<typeof api>> {
  const python = process.env.CIQ_PYTHON ?? join(REPOSITORY, ".venv/bin/python");
  const scratch = mkdtempSync(join(tmpdir(), "ciq-e2e-"));
  const env: NodeJS.ProcessEnv = { PORT: "0", LOCAL_OUTBOX_PATH: join(scratch, "outbox.jsonl"), PYTHONUNBUFFERED: "1" };
  for (const name of ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"]) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  const child = spawn(python, ["-m", "local"], { cwd: REPOSITORY, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local run did not start:\n${output}`)), START_TIMEOUT_MS);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /http:\/\/localhost:(\d+)/.exec(output);
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
async function startSite(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/") {
      response.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>app</title><h1>app</h1>");
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

before(async () => {
  api = await startLocalRun();
  site = await startSite();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  await new Promise((done) => (site ? site.close(done) : done(undefined)));
  if (api) {
    api.process.kill("SIGTERM");
    rmSync(api.scratch, { recursive: true, force: true });
  }
});

it("a page on another localhost port signs up, reads and writes with the cookie, then signs out", async () => {
  assert.ok(api && site && browser);
  const page = await browser.newPage();
  const origin = `http://localhost:${(site.address() as AddressInfo).port}`;
  await page.goto(`${origin}/`);
  const email = `e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

  // Given the app's page / When it runs the client in the browser (the code is the local run's fixed 123456)
  const seen = await page.evaluate(
    async ({ apiUrl, email }) => {
      const { createClient, ApiError } = await import(`${location.origin}/client/index.js`);
      const client = createClient({ baseUrl: apiUrl }); // cookie mode: credentials "include"
      const started = await client.auth.signUp({
        firstName: "Ada",
        lastName: "Lovelace",
        email,
        company: "Analytical Engines",
        phone: "+14155550123",
      });
      const opened = await client.auth.verify({ challengeId: started.challengeId, code: "123456" });
      const session = await client.auth.session();
      const first = await client.userData.get();
      const created = await client.userData.mutate({ type: "workspace.create", name: "Spring campaign" }, { ifMatch: true });
      // A decision made on version 1 (stale): the client refetches and reapplies it.
      const reordered = await client.userData.mutate(
        { type: "workspace.reorder", workspaceIds: ["ws-1"] },
        {
          ifMatch: 1,
          reapply: (fresh: { data: { workspaces: { id: string }[] } }) => ({
            type: "workspace.reorder",
            workspaceIds: fresh.data.workspaces.map((w) => w.id).reverse(),
          }),
        },
      );
      const versionSeen = client.version(); // the ETag kept for this user
      const agents = await client.liveAgents.list(); // the local run has no live-agents service
      await client.auth.signOut();
      let afterSignOut = "no error";
      try {
        await client.auth.session();
      } catch (error) {
        const refused = error as { status: number; code: string };
        afterSignOut = error instanceof ApiError ? `${refused.status} ${refused.code}` : String(error);
      }
      return {
        sessionEmail: session.profile.email,
        sameUser: opened.profile.userId === session.profile.userId,
        firstVersion: first.version,
        createdVersion: created.version,
        workspaceNames: reordered.data.workspaces.map((w: { name: string }) => w.name),
        reorderedVersion: reordered.version,
        clientVersion: versionSeen,
        agents: { count: agents.agents.length, source: agents.source, degraded: agents.degraded },
        afterSignOut,
        cookieVisibleToScript: document.cookie.includes("ciq_session"),
      };
    },
    { apiUrl: api.url, email },
  );

  // Then the cookie carried the session across origins, and every rule of the client held
  assert.deepEqual(seen, {
    sessionEmail: email,
    sameUser: true,
    firstVersion: 1,
    createdVersion: 2,
    workspaceNames: ["Spring campaign", "My Workspace"],
    reorderedVersion: 3,
    clientVersion: 3,
    agents: { count: 2, source: "store", degraded: true }, // store mode: degraded, surfaced
    afterSignOut: "401 unauthorized",
    cookieVisibleToScript: false,
  });
  await page.close();
});
