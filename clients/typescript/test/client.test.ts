import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError, type ClientOptions, ConversionIqClient, NetworkError, parseEtag, parseRetryAfter } from "../src/index.js";

/** One request as the fake server saw it. */
interface Seen {
  method: string;
  url: string;
  headers: Headers;
  credentials: RequestCredentials | undefined;
  body: unknown;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | "network-failure";

/** A scripted server: each request takes the next reply; every request is recorded. */
function fakeServer(replies: Reply[]) {
  const seen: Seen[] = [];
  const waits: number[] = [];
  let keys = 0;
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    seen.push({
      method: init?.method ?? "GET",
      url: String(input),
      headers,
      credentials: init?.credentials,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    });
    const reply = replies.shift();
    if (reply === undefined) throw new Error(`no reply scripted for ${init?.method} ${String(input)}`);
    if (reply === "network-failure") throw new TypeError("fetch failed");
    const text = reply.body === undefined ? "" : JSON.stringify(reply.body);
    return new Response(reply.status === 204 ? null : text, { status: reply.status, headers: reply.headers ?? {} });
  };
  const options = (extra: Partial<ClientOptions> = {}): ClientOptions => ({
    baseUrl: "http://api.test/",
    fetch: fetchImpl,
    sleep: async (ms) => {
      waits.push(ms);
    },
    newKey: () => `key-${++keys}`,
    random: () => 0.5,
    ...extra,
  });
  return { seen, waits, options };
}

const PROFILE = {
  userId: "u-1",
  email: "ada@example.com",
  firstName: "Ada",
  lastName: "Lovelace",
  company: "AE",
  phone: "+14155550123",
  createdAt: "2026-11-25T12:00:00.000Z",
};
const OPENED = { status: 200, body: { token: "tok-1", expiresAt: "2026-11-26T00:00:00.000Z", profile: PROFILE } };
const DATA = { schemaVersion: 2, profile: PROFILE, groups: [], workspaces: [], knowledgeBases: [], agents: [], connections: [], nodePositions: {} };
const versioned = (version: number, body: unknown, status = 200) => ({
  status,
  body,
  headers: { ETag: `"${version}"`, "Content-Type": "application/json" },
});
const error = (status: number, code: string, headers: Record<string, string> = {}, details: unknown[] = []) => ({
  status,
  body: { error: { code, message: `${code} happened`, details } },
  headers,
});
const WORKSPACE_CREATE = { type: "workspace.create" as const, name: "Spring" };

describe("sessions", () => {
  it("cookie mode sends credentials and no Authorization header", async () => {
    // Given a cookie client / When it verifies and reads / Then every request includes credentials
    const server = fakeServer([OPENED, versioned(1, { data: DATA, version: 1 })]);
    const client = new ConversionIqClient(server.options());
    await client.auth.verify({ challengeId: "c".repeat(16), code: "123456" });
    await client.userData.get();
    assert.deepEqual(
      server.seen.map((s) => [s.credentials, s.headers.get("Authorization")]),
      [
        ["include", null],
        ["include", null],
      ],
    );
    assert.equal(server.seen[1]?.url, "http://api.test/api/user-data");
  });

  it("bearer mode keeps the token of verify, sends it, and drops it on sign-out", async () => {
    const server = fakeServer([OPENED, versioned(1, { data: DATA, version: 1 }), { status: 204 }, error(401, "unauthorized")]);
    const client = new ConversionIqClient(server.options({ auth: { mode: "bearer" } }));
    await client.auth.verify({ challengeId: "c".repeat(16), code: "123456" });
    await client.userData.get();
    await client.auth.signOut();
    await assert.rejects(client.userData.get(), (e: unknown) => e instanceof ApiError && e.code === "unauthorized");
    assert.deepEqual(
      server.seen.map((s) => [s.credentials, s.headers.get("Authorization")]),
      [
        ["omit", null],
        ["omit", "Bearer tok-1"],
        ["omit", "Bearer tok-1"],
        ["omit", null],
      ],
    );
  });

  it("signing out a session that is already gone (401) counts as signed out", async () => {
    const server = fakeServer([error(401, "unauthorized")]);
    const client = new ConversionIqClient(server.options());
    await client.auth.signOut();
    assert.equal(client.userId(), null);
  });
});

describe("versions and If-Match", () => {
  it("keeps the ETag per user and sends it as If-Match only when asked", async () => {
    const server = fakeServer([
      OPENED,
      versioned(4, { data: DATA, version: 4 }),
      versioned(5, { data: DATA, version: 5, results: [] }),
      versioned(6, { data: DATA, version: 6, results: [] }),
    ]);
    const client = new ConversionIqClient(server.options());
    await client.auth.verify({ challengeId: "c".repeat(16), code: "123456" });
    await client.userData.get();
    await client.userData.mutate(WORKSPACE_CREATE);
    await client.userData.mutate({ type: "workspace.reorder", workspaceIds: ["ws-1"] }, { ifMatch: true });
    assert.equal(server.seen[2]?.headers.get("If-Match"), null);
    assert.equal(server.seen[3]?.headers.get("If-Match"), '"5"');
    assert.equal(client.version(), 6);
  });

  it("keeps another user's version apart", async () => {
    const other = { ...OPENED, body: { ...OPENED.body, profile: { ...PROFILE, userId: "u-2" } } };
    const server = fakeServer([OPENED, versioned(9, { data: DATA, version: 9 }), other]);
    const client = new ConversionIqClient(server.options());
    await client.auth.verify({ challengeId: "c".repeat(16), code: "123456" });
    await client.userData.get();
    await client.auth.verify({ challengeId: "d".repeat(16), code: "123456" });
    assert.equal(client.version(), undefined);
    await assert.rejects(client.userData.mutate(WORKSPACE_CREATE, { ifMatch: true }), /needs a version/);
    assert.equal(server.seen.length, 3); // nothing sent without the version
  });

  it("on 412 refetches, reapplies the intent and retries with the new version and a new key", async () => {
    const server = fakeServer([
      OPENED,
      versioned(7, { data: DATA, version: 7 }),
      error(412, "version_mismatch"),
      versioned(8, { data: { ...DATA, workspaces: [{ id: "ws-4" }] }, version: 8 }),
      versioned(9, { data: DATA, version: 9, results: [] }),
    ]);
    const client = new ConversionIqClient(server.options());
    await client.auth.verify({ challengeId: "c".repeat(16), code: "123456" });
    await client.userData.get();
    const answer = await client.userData.mutate(
      { type: "workspace.reorder", workspaceIds: ["ws-3", "ws-1"] },
      {
        ifMatch: true,
        reapply: (fresh) => ({
          type: "workspace.reorder",
          workspaceIds: ["ws-3", "ws-1", ...fresh.data.workspaces.map((w) => w.id)],
        }),
      },
    );
    assert.equal(answer.version, 9);
    const [first, refetch, second] = server.seen.slice(2);
    assert.deepEqual([first?.headers.get("If-Match"), first?.headers.get("Idempotency-Key")], ['"7"', "key-1"]);
    assert.equal(refetch?.method, "GET");
    assert.deepEqual([second?.headers.get("If-Match"), second?.headers.get("Idempotency-Key")], ['"8"', "key-2"]);
    assert.deepEqual(second?.body, { type: "workspace.reorder", workspaceIds: ["ws-3", "ws-1", "ws-4"] });
  });

  it("without a reapply a 412 is the caller's typed error", async () => {
    const server = fakeServer([error(412, "version_mismatch")]);
    const client = new ConversionIqClient(server.options());
    await assert.rejects(
      client.setupStatus.mutate({ type: "completeOnboarding" }, { ifMatch: 3 }),
      (e: unknown) => e instanceof ApiError && e.status === 412 && e.code === "version_mismatch",
    );
    assert.equal(server.seen[0]?.headers.get("If-Match"), '"3"');
  });
});

describe("retries", () => {
  it("409 concurrent_modification: waits Retry-After and resends with the same Idempotency-Key", async () => {
    const server = fakeServer([
      error(409, "concurrent_modification", { "Retry-After": "2" }),
      error(503, "dependency_unavailable", { "Retry-After": "1" }),
      "network-failure",
      versioned(3, { data: DATA, version: 3, results: [] }),
    ]);
    const client = new ConversionIqClient(server.options());
    const answer = await client.userData.mutate(WORKSPACE_CREATE);
    assert.equal(answer.version, 3);
    assert.deepEqual(
      server.seen.map((s) => s.headers.get("Idempotency-Key")),
      ["key-1", "key-1", "key-1", "key-1"],
    );
    assert.deepEqual(server.waits, [2500, 1500, 1500]); // Retry-After + jitter; 1 s after a failure
  });

  it("gives up after maxRetries with the last typed error", async () => {
    const busy = error(409, "concurrent_modification", { "Retry-After": "1" });
    const server = fakeServer([busy, busy, busy]);
    const client = new ConversionIqClient(server.options({ maxRetries: 2 }));
    await assert.rejects(
      client.liveAgents.remove("agent-1"),
      (e: unknown) => e instanceof ApiError && e.code === "concurrent_modification" && e.retryAfterSeconds === 1,
    );
    assert.equal(server.seen.length, 3);
    assert.equal(server.seen[0]?.url, "http://api.test/api/live-agents/agent-1");
  });

  it("a 409 that describes the request is never retried", async () => {
    const server = fakeServer([error(409, "invariant_violation", {}, [{ path: "", code: "invariant_violation", message: "no" }])]);
    const client = new ConversionIqClient(server.options());
    await assert.rejects(client.userData.mutate(WORKSPACE_CREATE), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.deepEqual([e.code, e.details.length, e.retryable], ["invariant_violation", 1, false]);
      return true;
    });
    assert.equal(server.seen.length, 1);
  });

  it("a throttled read (429) is retried after Retry-After; a sign-in 429 is the user's to wait", async () => {
    const server = fakeServer([
      error(429, "rate_limited", { "Retry-After": "3" }),
      versioned(1, { selectedChannelTypes: [] }),
      error(429, "rate_limited", { "Retry-After": "600" }),
    ]);
    const client = new ConversionIqClient(server.options());
    await client.setupStatus.get();
    await assert.rejects(
      client.auth.signIn({ email: "ada@example.com" }),
      (e: unknown) => e instanceof ApiError && e.retryAfterSeconds === 600,
    );
    assert.deepEqual(server.waits, [3500]);
  });

  it("502 with API Gateway's fixed body is an internal_error integration failure, retried", async () => {
    const server = fakeServer([
      { status: 502, body: { message: "Internal server error" } },
      { status: 502, body: { message: "Internal server error" } },
    ]);
    const client = new ConversionIqClient(server.options({ maxRetries: 1 }));
    await assert.rejects(client.userData.get(), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.deepEqual([e.status, e.code, e.integrationFailure, e.message], [502, "internal_error", true, "Internal server error"]);
      return true;
    });
    assert.deepEqual(server.waits, [1500]);
  });

  it("a network failure that persists is a NetworkError", async () => {
    const server = fakeServer(["network-failure", "network-failure"]);
    const client = new ConversionIqClient(server.options({ maxRetries: 1 }));
    await assert.rejects(client.userData.get(), (e: unknown) => e instanceof NetworkError);
  });
});

describe("live agents", () => {
  it("surfaces source and degraded, and the agent's syncState", async () => {
    const agent = { id: "agent-night", syncState: "pending" };
    const server = fakeServer([
      versioned(2, { agents: [agent], source: "store", degraded: true }),
      versioned(3, { agent, source: "store", degraded: true }, 201),
    ]);
    const client = new ConversionIqClient(server.options());
    const list = await client.liveAgents.list("ws 1");
    const created = await client.liveAgents.create({ workspaceId: "ws-1", knowledgeBaseId: "kb-default-1", name: "Night" });
    assert.deepEqual([list.degraded, list.source, created.degraded, created.agent.syncState], [true, "store", true, "pending"]);
    assert.equal(server.seen[0]?.url, "http://api.test/api/live-agents?workspaceId=ws%201");
    assert.equal(server.seen[1]?.headers.get("Content-Type"), "application/json");
  });
});

describe("header parsing", () => {
  it("reads ETags and Retry-After", () => {
    assert.deepEqual([parseEtag('"7"'), parseEtag('W/"8"'), parseEtag("7"), parseEtag(null)], [7, 8, null, null]);
    assert.deepEqual([parseRetryAfter("5"), parseRetryAfter(""), parseRetryAfter("soon")], [5, null, null]);
    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    const seconds = parseRetryAfter(inTwoMinutes);
    assert.ok(seconds !== null && seconds >= 118 && seconds <= 120, String(seconds));
  });
});
