/**
 * Live updates (docs/api/live-updates.md): keeps a cached UserData in step with the account.
 *
 * - opens the WebSocket with a fresh single-use ticket (`POST /api/live/ticket`) on every attempt;
 * - on each notice `{type: "changed", version}` newer than the version held, reads
 *   `GET /api/user-data?since=<held>` and applies the delta (a full read when told to); one read at a
 *   time, notices arriving meanwhile only ask for one more read;
 * - on every open (the first and each reconnect) catches up with one delta read;
 * - reconnects after any close with exponential backoff and jitter; a 401 from the ticket route
 *   (the session ended) stops it;
 * - sends a keep-alive message every 5 minutes (API Gateway closes idle connections after 10).
 */
import type { ConversionIqClient, UserData, UserDataDelta } from "./client.js";
import { ApiError } from "./errors.js";

/** The subset of the browser's WebSocket this module uses (injectable for tests and Node). */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}

export type LiveStatus = "connecting" | "open" | "reconnecting" | "stopped" | "signed-out";

export interface LiveOptions {
  /** Called with the new data and version after every catch-up that changed the version. */
  readonly onData: (data: UserData, version: number) => void;
  readonly onStatus?: (status: LiveStatus) => void;
  /** Data the app already holds (with its version); otherwise the first step is a full read. */
  readonly initial?: { readonly data: UserData; readonly version: number };
  readonly socket?: (url: string) => SocketLike;
  /** First reconnect delay (default 500 ms), doubled per failed attempt up to `maxDelayMs` (30 s). */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly keepAliveMs?: number;
  /** 0 ≤ x < 1, for the jitter (default Math.random). */
  readonly random?: () => number;
  readonly setTimer?: (callback: () => void, ms: number) => unknown;
  readonly clearTimer?: (timer: unknown) => void;
}

/**
 * The apply rule of docs/api/user-data.md (Delta reads): `held` (the data at `delta.baseVersion`)
 * brought to `delta.version`. Mirrors `apply_workspace_delta` in ciq/domain/delta.py.
 */
export function applyDelta(held: UserData, delta: UserDataDelta): UserData {
  const order = delta.workspaceOrder;
  const inOrder = new Set(order);
  const sent = new Map(delta.workspaces.map((w) => [w.id, w]));
  const kept = new Map(held.workspaces.filter((w) => inOrder.has(w.id) && !sent.has(w.id)).map((w) => [w.id, w]));
  const position = new Map(order.map((id, index) => [id, index]));
  const children = <T extends { workspaceId: string; createdAt: string }>(mine: T[], theirs: T[]): T[] =>
    [...mine.filter((e) => kept.has(e.workspaceId)), ...theirs].sort((a, b) =>
      a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : (position.get(a.workspaceId) ?? 0) - (position.get(b.workspaceId) ?? 0),
    );
  const positions: UserData["nodePositions"] = {};
  for (const id of order) {
    const value = sent.has(id) ? delta.nodePositions[id] : kept.has(id) ? held.nodePositions[id] : undefined;
    if (value !== undefined) positions[id] = value;
  }
  return {
    schemaVersion: delta.schemaVersion,
    profile: delta.profile,
    groups: delta.groups,
    workspaces: order.map((id) => sent.get(id) ?? kept.get(id)).filter((w) => w !== undefined),
    knowledgeBases: children(held.knowledgeBases, delta.knowledgeBases),
    agents: children(held.agents, delta.agents),
    connections: children(held.connections, delta.connections),
    nodePositions: positions,
  };
}

export class LiveData {
  private held: { data: UserData; version: number } | null;
  private socket: SocketLike | null = null;
  private attempts = 0;
  private stopped = false;
  private reading = false;
  private readAgain = false;
  private keepAlive: unknown = null;
  private reconnectTimer: unknown = null;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly random: () => number;
  private readonly setTimer: (callback: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;
  private readonly openSocket: (url: string) => SocketLike;

  constructor(
    private readonly client: ConversionIqClient,
    private readonly options: LiveOptions,
  ) {
    this.held = options.initial ? { ...options.initial } : null;
    this.minDelay = options.minDelayMs ?? 500;
    this.maxDelay = options.maxDelayMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
    this.openSocket = options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
  }

  /** The data held now and its version (null before the first read). */
  current(): { readonly data: UserData; readonly version: number } | null {
    return this.held;
  }

  /** Tell it about the app's own write (its answer's data and version): that write's notice is then ignored. */
  accept(data: UserData, version: number): void {
    if (this.held === null || version > this.held.version) this.held = { data, version };
  }

  async start(): Promise<void> {
    if (this.held === null) {
      const answer = await this.client.userData.get();
      this.update(answer.data, answer.version);
    }
    await this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.socket?.close();
    this.socket = null;
    this.status("stopped");
  }

  /** A notice's message; anything else (or an older version) is ignored. */
  handle(message: unknown): void {
    let notice: unknown;
    try {
      notice = typeof message === "string" ? JSON.parse(message) : null;
    } catch {
      return;
    }
    if (typeof notice !== "object" || notice === null) return;
    const { type, version } = notice as { type?: unknown; version?: unknown };
    if (type !== "changed" || typeof version !== "number") return;
    if (this.held !== null && version <= this.held.version) return;
    void this.catchUp();
  }

  /** One delta read from the held version (more if notices came meanwhile). */
  async catchUp(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        await this.readOnce();
      } while (this.readAgain && !this.stopped);
    } catch {
      // The next notice or reconnect catches up; a 401 shows on the next ticket.
    } finally {
      this.reading = false;
    }
  }

  private async readOnce(): Promise<void> {
    if (this.held === null) {
      const answer = await this.client.userData.get();
      this.update(answer.data, answer.version);
      return;
    }
    const answer = await this.client.userData.since(this.held.version);
    if ("full" in answer) {
      const full = await this.client.userData.get();
      this.update(full.data, full.version);
    } else if (this.held === null || answer.version <= this.held.version) {
      return; // nothing newer than what is held (the app accepted its own write meanwhile)
    } else if (answer.baseVersion === this.held.version) {
      this.update(applyDelta(this.held.data, answer), answer.version);
    } else {
      this.readAgain = true; // the app accepted a newer version meanwhile: read from it
    }
  }

  private update(data: UserData, version: number): void {
    const changed = this.held === null || version !== this.held.version;
    this.held = { data, version };
    if (changed) this.options.onData(data, version);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.status(this.attempts === 0 ? "connecting" : "reconnecting");
    let url: string;
    try {
      const ticket = await this.client.live.ticket();
      url = `${ticket.url}?ticket=${encodeURIComponent(ticket.ticket)}`;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.stopped = true;
        this.status("signed-out");
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    const socket = this.openSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.status("open");
      this.keepAlive = setIntervalLike(this.setTimer, this.options.keepAliveMs ?? 300_000, () =>
        socket.send('{"type":"ping"}'),
      );
      void this.catchUp(); // notices sent while closed are lost: one read catches up with all
    };
    socket.onmessage = (event) => this.handle(event.data);
    socket.onerror = () => undefined; // a close follows
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempts);
    this.attempts += 1;
    this.status("reconnecting");
    this.reconnectTimer = this.setTimer(() => void this.connect(), Math.round(base * (0.5 + this.random())));
  }

  private clearTimers(): void {
    if (this.keepAlive !== null) (this.keepAlive as { cancel: () => void }).cancel();
    if (this.reconnectTimer !== null) this.clearTimer(this.reconnectTimer);
    this.keepAlive = this.reconnectTimer = null;
  }

  private status(status: LiveStatus): void {
    this.options.onStatus?.(status);
  }
}

/** A repeating timer from a one-shot one (so tests drive time through `setTimer` alone). */
function setIntervalLike(
  setTimer: (callback: () => void, ms: number) => unknown,
  ms: number,
  tick: () => void,
): { cancel: () => void } {
  let cancelled = false;
  const schedule = (): void => {
    setTimer(() => {
      if (cancelled) return;
      tick();
      schedule();
    }, ms);
  };
  schedule();
  return { cancel: () => (cancelled = true) };
}

/** Keeps `options.onData` fed with the account's data; `stop()` ends it. */
export function subscribe(client: ConversionIqClient, options: LiveOptions): LiveData {
  const live = new LiveData(client, options);
  void live.start();
  return live;
}
