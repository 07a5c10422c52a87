import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ConversionIqClient,
  LiveData,
  type LiveStatus,
  type SocketLike,
  type UserData,
  type UserDataDelta,
  applyDelta,
} from "../src/index.js";

const PROFILE = {
  userId: "u-1",
  email: "ada@example.com",
  firstName: "Ada",
  lastName: "Lovelace",
  company: "AE",
  phone: "+14155550123",
  createdAt: "2026-11-25T12:00:00.000Z",
};
const at = (n: number) => `2026-11-25T12:00:0${n}.000Z`;
const workspace = (id: string, name = id) =>
  ({
    id,
    name,
    description: "",
    groupId: "default",
    ownerId: "u-1",
    defaultKbId: `kb-${id}`,
    defaultAgentId: `agent-${id}`,
    numberOfKnowledgeBases: 1,
    numberOfUsers: 1,
    connectedApps: [],
    appsActivated: false,
    createdAt: at(0),
    updatedAt: at(0),
  }) as unknown as UserData["workspaces"][number];
const kb = (id: string, workspaceId: string, createdAt: string) =>
  ({ id, workspaceId, name: id, status: "incomplete", draft: {}, agentsSetCount: 0, createdAt, updatedAt: createdAt }) as unknown as UserData["knowledgeBases"][number];

const HELD: UserData = {
  schemaVersion: 2,
  profile: PROFILE,
  groups: [{ id: "default", name: "Default group" }],
  workspaces: [workspace("ws-1"), workspace("ws-a"), workspace("ws-b")],
  knowledgeBases: [kb("kb-1", "ws-1", at(1)), kb("kb-a", "ws-a", at(2)), kb("kb-b", "ws-b", at(3))],
  agents: [],
  connections: [],
  nodePositions: { "ws-a": { n: { x: 1, y: 2 } } },
};

function delta(version: number, extra: Partial<UserDataDelta> = {}): UserDataDelta {
  return {
    schemaVersion: 2,
    profile: PROFILE,
    groups: HELD.groups,
    workspaceOrder: ["ws-1", "ws-a", "ws-b"],
    workspaces: [],
    knowledgeBases: [],
    agents: [],
    connections: [],
    nodePositions: {},
    baseVersion: version - 1,
    version,
    ...extra,
  };
}

describe("applyDelta", () => {
  it("replaces a changed workspace with its children and keeps the others", () => {
    const after = applyDelta(
      HELD,
      delta(5, { workspaces: [workspace("ws-a", "Renamed")], knowledgeBases: [kb("kb-a2", "ws-a", at(4))] }),
    );
    assert.deepEqual(after.workspaces.map((w) => w.name), ["ws-1", "Renamed", "ws-b"]);
    // kb-a is gone (not sent with its workspace), kb-a2 added in creation order
    assert.deepEqual(after.knowledgeBases.map((k) => k.id), ["kb-1", "kb-b", "kb-a2"]);
    // ws-a was sent without node positions: it has none now
    assert.deepEqual(after.nodePositions, {});
  });

  it("drops a workspace missing from the order, with its children and positions", () => {
    const after = applyDelta(HELD, delta(5, { workspaceOrder: ["ws-b", "ws-1"] }));
    assert.deepEqual(after.workspaces.map((w) => w.id), ["ws-b", "ws-1"]);
    assert.deepEqual(after.knowledgeBases.map((k) => k.id), ["kb-1", "kb-b"]);
    assert.deepEqual(after.nodePositions, {});
  });

  it("orders children by creation, ties by workspace position", () => {
    const same = at(1);
    const after = applyDelta(
      { ...HELD, knowledgeBases: [kb("kb-1", "ws-1", same)] },
      delta(5, { workspaceOrder: ["ws-b", "ws-1", "ws-a"], workspaces: [workspace("ws-b")], knowledgeBases: [kb("kb-b", "ws-b", same)] }),
    );
    assert.deepEqual(after.knowledgeBases.map((k) => k.id), ["kb-b", "kb-1"]);
  });
});

/** A scripted API: `GET /api/user-data?since=` answers from `deltas`, the rest from `replies`. */
function fakeApi() {
  const requests: string[] = [];
  const deltas: Array<unknown> = [];
  const tickets: Array<number | "ok"> = [];
  let ticketCount = 0;
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const what = `${init?.method ?? "GET"} ${url.pathname}${url.search}`;
    requests.push(what);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
    if (url.pathname === "/api/live/ticket") {
      const scripted = tickets.shift() ?? "ok";
      if (scripted !== "ok") return json(scripted, { error: { code: "unauthorized", message: "no", details: [] } });
      ticketCount += 1;
      return json(201, { ticket: `t${ticketCount}`, expiresAt: at(9), url: "ws://live.test" });
    }
    if (url.searchParams.has("since")) {
      const since = Number(url.searchParams.get("since"));
      const next = deltas.shift() ?? delta(since, { baseVersion: since }); // nothing changed
      return json(200, next);
    }
    return json(200, { data: HELD, version: 9 }, { ETag: '"9"' });
  };
  return { requests, deltas, tickets, fetchImpl };
}

class FakeSocket implements SocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  sent: string[] = [];
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.onclose?.({});
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function harness(initialVersion = 4) {
  const api = fakeApi();
  const sockets: FakeSocket[] = [];
  const timers: Array<{ ms: number; run: () => void }> = [];
  const statuses: LiveStatus[] = [];
  const seen: Array<[UserData, number]> = [];
  const client = new ConversionIqClient({ baseUrl: "http://api.test", fetch: api.fetchImpl, auth: { mode: "bearer", token: "t" } });
  const live = new LiveData(client, {
    initial: { data: HELD, version: initialVersion },
    onData: (data, version) => seen.push([data, version]),
    onStatus: (status) => statuses.push(status),
    socket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    random: () => 0.5,
    setTimer: (run, ms) => {
      const timer = { ms, run };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => {
      const index = timers.indexOf(timer as { ms: number; run: () => void });
      if (index >= 0) timers.splice(index, 1);
    },
  });
  return { api, sockets, timers, statuses, seen, live };
}

describe("LiveData", () => {
  it("opens the socket with a fresh ticket and catches up once open", async () => {
    const h = harness();
    h.api.deltas.push(delta(5, { workspaces: [workspace("ws-1", "Elsewhere")] }));
    await h.live.start();
    assert.equal(h.sockets[0]?.url, "ws://live.test?ticket=t1");
    h.sockets[0]?.onopen?.({});
    await settle();
    assert.deepEqual(h.api.requests, ["POST /api/live/ticket", "GET /api/user-data?since=4"]);
    assert.equal(h.seen.at(-1)?.[1], 5);
    assert.equal(h.seen.at(-1)?.[0].workspaces[0]?.name, "Elsewhere");
    assert.deepEqual(h.statuses, ["connecting", "open"]);
  });

  it("reads a delta for a newer notice and ignores an old one or garbage", async () => {
    const h = harness();
    await h.live.start();
    h.sockets[0]?.onopen?.({});
    await settle();
    h.api.requests.length = 0;
    h.live.handle('{"type":"changed","version":3}');
    h.live.handle("not json");
    h.live.handle('{"type":"other","version":99}');
    await settle();
    assert.deepEqual(h.api.requests, []);
    h.api.deltas.push(delta(6, { workspaces: [workspace("ws-b", "New name")], baseVersion: 4 }));
    h.sockets[0]?.onmessage?.({ data: '{"type":"changed","version":6}' });
    await settle();
    assert.deepEqual(h.api.requests, ["GET /api/user-data?since=4"]);
    assert.equal(h.live.current()?.version, 6);
    assert.equal(h.live.current()?.data.workspaces[2]?.name, "New name");
  });

  it("reads in full when the server says so", async () => {
    const h = harness();
    await h.live.start();
    h.api.deltas.push({ full: true, version: 9 });
    h.sockets[0]?.onopen?.({});
    await settle();
    assert.deepEqual(h.api.requests.slice(1), ["GET /api/user-data?since=4", "GET /api/user-data"]);
    assert.equal(h.live.current()?.version, 9);
  });

  it("reconnects with doubling jittered delays and a new ticket each time", async () => {
    const h = harness();
    await h.live.start();
    for (const expected of [500, 1000, 2000]) {
      h.sockets.at(-1)?.close();
      const timer = h.timers.pop();
      assert.equal(timer?.ms, expected); // random 0.5: the jitter factor is 1
      timer?.run();
      await settle();
    }
    assert.deepEqual(h.sockets.map((s) => s.url), ["ws://live.test?ticket=t1", "ws://live.test?ticket=t2", "ws://live.test?ticket=t3", "ws://live.test?ticket=t4"]);
    // An open connection resets the backoff
    h.sockets.at(-1)?.onopen?.({});
    await settle();
    h.timers.length = 0;
    h.sockets.at(-1)?.close();
    assert.equal(h.timers.pop()?.ms, 500);
  });

  it("stops when the session has ended", async () => {
    const h = harness();
    h.api.tickets.push(401);
    await h.live.start();
    assert.equal(h.sockets.length, 0);
    assert.deepEqual(h.statuses, ["connecting", "signed-out"]);
    assert.equal(h.timers.length, 0);
  });

  it("sends a keep-alive while open and nothing after stop", async () => {
    const h = harness();
    await h.live.start();
    h.sockets[0]?.onopen?.({});
    await settle();
    const keepAlive = h.timers.find((t) => t.ms === 300_000);
    keepAlive?.run();
    assert.deepEqual(h.sockets[0]?.sent, ['{"type":"ping"}']);
    h.live.stop();
    assert.equal(h.statuses.at(-1), "stopped");
    assert.equal(h.timers.filter((t) => t.ms !== 300_000).length, 0);
  });
});
