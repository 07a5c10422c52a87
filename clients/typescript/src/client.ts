/**
 * A small typed client of the ConversionIQ API that follows the write protocol of
 * docs/architecture/provider-graph.md:
 *
 * - the session travels as the cookie (`credentials: "include"`) or as `Authorization: Bearer`;
 * - the account's version (`ETag`) is kept per user and sent as `If-Match` when a write asks for it;
 *   on `412 version_mismatch` the client refetches and, when the caller gave a `reapply`, retries
 *   the recomputed request (a new request: a new `Idempotency-Key`);
 * - every write has one `Idempotency-Key`, reused on its own retries;
 * - `409 concurrent_modification`, `429` (throttling) and `503` are retried after `Retry-After`,
 *   `502`/`504` and network failures after 1 s, at most `maxRetries` times;
 * - refusals are `ApiError`s carrying the error code and details;
 * - live-agents answers keep their `source` and `degraded` flag.
 */
import { ApiError, NetworkError, errorFrom } from "./errors.js";
import type { components } from "./schema.js";

type Schemas = components["schemas"];
export type SignUpRequest = Schemas["SignUpRequest"];
export type SignInRequest = Schemas["SignInRequest"];
export type VerifyRequest = Schemas["VerifyRequest"];
export type ChallengeStarted = Schemas["ChallengeStarted"];
export type SessionOpened = Schemas["SessionOpened"];
export type SessionView = Schemas["SessionView"];
export type UserData = Schemas["UserData"];
export type UserDataAnswer = Schemas["UserDataAnswer"];
export type UserDataMutationAnswer = Schemas["UserDataMutationAnswer"];
export type UserDataMutationRequest = Schemas["UserDataMutationRequest"];
export type ImportRequest = Schemas["ImportRequest"];
export type SetupStatus = Schemas["SetupStatus"];
export type SetupStatusMutationRequest = Schemas["SetupStatusMutationRequest"];
export type LiveAgentsList = Schemas["LiveAgentsList"];
export type LiveAgentAnswer = Schemas["LiveAgentAnswer"];
export type LiveAgentCreate = Schemas["LiveAgentCreate"];
export type LiveAgentUpdate = Schemas["LiveAgentUpdate"];
export type UserDataDelta = Schemas["UserDataDelta"];
export type FullReadNeeded = Schemas["FullReadNeeded"];
export type LiveTicket = Schemas["LiveTicket"];

/** How requests prove the session: the cookie verify set, or the token of its answer. */
export type Auth = { readonly mode: "cookie" } | { readonly mode: "bearer"; token?: string };

export interface ClientOptions {
  /** The API's origin (and stage path), e.g. `http://localhost:4000`; no trailing slash needed. */
  readonly baseUrl: string;
  /** Default: the cookie. In bearer mode the token of `auth.verify` is kept in memory. */
  readonly auth?: Auth;
  /** Retries of one request after 409/429/503/502/504 or a network failure (default 3). */
  readonly maxRetries?: number;
  /** Rounds of refetch-and-reapply after a 412 (default 3). */
  readonly maxReapplies?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (milliseconds: number) => Promise<void>;
  readonly newKey?: () => string;
  /** 0 ≤ x < 1, for the jitter added to every wait (default Math.random). */
  readonly random?: () => number;
}

/**
 * How one write treats the account's version.
 * `ifMatch`: `true` sends the version this client last saw for the user; a number sends that one.
 * `reapply`: given the fresh state after a 412, the request to send instead (or `null` to give up,
 * which throws the 412's ApiError). Without it a 412 is thrown at once.
 */
export interface WriteOptions<Body, Fresh> {
  readonly ifMatch?: boolean | number;
  readonly reapply?: (fresh: Fresh) => Body | null | Promise<Body | null>;
  /** To resume a logical write started earlier (e.g. before a reload); default: a new UUID. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

interface Answer<T> {
  readonly body: T;
  readonly version: number | null;
}

interface Call {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  readonly body?: unknown;
  readonly ifMatch?: number;
  readonly idempotencyKey?: string;
  /** Auth routes: a 429 is the user's wait (shown), never an automatic retry. */
  readonly retry429?: boolean;
  readonly signal?: AbortSignal | undefined;
}

const RETRIED_STATUSES = new Set([409, 429, 502, 503, 504]);
const DEFAULT_WAIT_SECONDS = 1;

export class ConversionIqClient {
  private readonly baseUrl: string;
  private readonly authState: Auth;
  private readonly maxRetries: number;
  private readonly maxReapplies: number;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (milliseconds: number) => Promise<void>;
  private readonly newKey: () => string;
  private readonly random: () => number;
  /** The account version last seen, per user id (the ETag of the latest answer); "" before the
   * user is known (a Bearer token given without verify or session). */
  private readonly versions = new Map<string, number>();
  private currentUser: string | null = null;

  readonly auth = {
    signUp: (body: SignUpRequest): Promise<ChallengeStarted> =>
      this.call<ChallengeStarted>({ method: "POST", path: "/api/auth/sign-up", body, retry429: false }).then(
        (a) => a.body,
      ),
    signIn: (body: SignInRequest): Promise<ChallengeStarted> =>
      this.call<ChallengeStarted>({ method: "POST", path: "/api/auth/sign-in", body, retry429: false }).then(
        (a) => a.body,
      ),
    /** Opens the session: sets the cookie (cookie mode) or keeps the token (bearer mode). */
    verify: async (body: VerifyRequest): Promise<SessionOpened> => {
      const { body: opened } = await this.call<SessionOpened>({
        method: "POST",
        path: "/api/auth/verify",
        body,
        retry429: false,
      });
      if (this.authState.mode === "bearer") this.authState.token = opened.token;
      this.currentUser = opened.profile.userId;
      return opened;
    },
    session: async (): Promise<SessionView> => {
      const { body } = await this.call<SessionView>({ method: "GET", path: "/api/auth/session" });
      this.currentUser = body.profile.userId;
      return body;
    },
    /** Ends the session; one that is already gone (401) counts as signed out. */
    signOut: async (): Promise<void> => {
      try {
        await this.call<null>({ method: "POST", path: "/api/auth/sign-out" });
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) throw error;
      } finally {
        this.forgetSession();
      }
    },
  };

  readonly userData = {
    get: (): Promise<UserDataAnswer> => this.read<UserDataAnswer>("/api/user-data"),
    /** What changed after `version` (docs/api/user-data.md, Delta reads); apply it with `applyDelta`. */
    since: (version: number): Promise<UserDataDelta | FullReadNeeded> =>
      this.read<UserDataDelta | FullReadNeeded>(`/api/user-data?since=${encodeURIComponent(String(version))}`),
    /** One mutation, or `{ mutations: [...] }` applied all-or-nothing. */
    mutate: (
      body: UserDataMutationRequest,
      options: WriteOptions<UserDataMutationRequest, UserDataAnswer> = {},
    ): Promise<UserDataMutationAnswer> =>
      this.write<UserDataMutationRequest, UserDataMutationAnswer, UserDataAnswer>(
        "POST",
        "/api/user-data",
        body,
        options,
        () => this.userData.get(),
      ),
    /** The one-time import of local data (allowed while the account is untouched, or with `ifMatch`). */
    import: (
      body: ImportRequest,
      options: WriteOptions<ImportRequest, UserDataAnswer> = {},
    ): Promise<UserDataAnswer> =>
      this.write<ImportRequest, UserDataAnswer, UserDataAnswer>("PUT", "/api/user-data", body, options, () =>
        this.userData.get(),
      ),
  };

  readonly setupStatus = {
    get: (): Promise<SetupStatus> => this.read<SetupStatus>("/api/setup-status"),
    mutate: (
      body: SetupStatusMutationRequest,
      options: WriteOptions<SetupStatusMutationRequest, SetupStatus> = {},
    ): Promise<SetupStatus> =>
      this.write<SetupStatusMutationRequest, SetupStatus, SetupStatus>(
        "PATCH",
        "/api/setup-status",
        body,
        options,
        () => this.setupStatus.get(),
      ),
  };

  /** Agents as the live-agents service sees them; `degraded: true` means the store answered alone. */
  readonly liveAgents = {
    list: (workspaceId?: string): Promise<LiveAgentsList> =>
      this.read<LiveAgentsList>(
        workspaceId === undefined
          ? "/api/live-agents"
          : `/api/live-agents?workspaceId=${encodeURIComponent(workspaceId)}`,
      ),
    create: (
      body: LiveAgentCreate,
      options: WriteOptions<LiveAgentCreate, LiveAgentsList> = {},
    ): Promise<LiveAgentAnswer> =>
      this.write<LiveAgentCreate, LiveAgentAnswer, LiveAgentsList>("POST", "/api/live-agents", body, options, () =>
        this.liveAgents.list(),
      ),
    update: (
      agentId: string,
      body: LiveAgentUpdate,
      options: WriteOptions<LiveAgentUpdate, LiveAgentsList> = {},
    ): Promise<LiveAgentAnswer> =>
      this.write<LiveAgentUpdate, LiveAgentAnswer, LiveAgentsList>(
        "PATCH",
        agentPath(agentId),
        body,
        options,
        () => this.liveAgents.list(),
      ),
    remove: (agentId: string, options: WriteOptions<undefined, LiveAgentsList> = {}): Promise<LiveAgentAnswer> =>
      this.write<undefined, LiveAgentAnswer, LiveAgentsList>("DELETE", agentPath(agentId), undefined, options, () =>
        this.liveAgents.list(),
      ),
  };

  /** Live updates (docs/api/live-updates.md); `subscribe` in live.ts uses these. */
  readonly live = {
    /** A single-use ticket that opens one WebSocket connection at its `url` within 60 s. */
    ticket: async (): Promise<LiveTicket> =>
      (await this.call<LiveTicket>({ method: "POST", path: "/api/live/ticket" })).body,
  };

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.authState = { ...(options.auth ?? { mode: "cookie" }) };
    this.maxRetries = options.maxRetries ?? 3;
    this.maxReapplies = options.maxReapplies ?? 3;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.newKey = options.newKey ?? (() => globalThis.crypto.randomUUID());
    this.random = options.random ?? Math.random;
  }

  /** The account version this client last saw for the signed-in user (undefined before any answer). */
  version(): number | undefined {
    return this.versions.get(this.currentUser ?? "");
  }

  /** The signed-in user's id, once verify or session answered. */
  userId(): string | null {
    return this.currentUser;
  }

  private forgetSession(): void {
    if (this.authState.mode === "bearer") delete this.authState.token;
    this.currentUser = null;
  }

  private async read<T>(path: string): Promise<T> {
    return (await this.call<T>({ method: "GET", path })).body;
  }

  private async write<Body, Result, Fresh>(
    method: "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    body: Body,
    options: WriteOptions<Body, Fresh>,
    refetch: () => Promise<Fresh>,
  ): Promise<Result> {
    let request = body;
    let key = options.idempotencyKey ?? this.newKey();
    let expected = this.expectedVersion(options.ifMatch);
    for (let round = 0; ; round += 1) {
      try {
        const call: Call = { method, path, body: request, idempotencyKey: key, signal: options.signal };
        const answer = await this.call<Result>(expected === undefined ? call : { ...call, ifMatch: expected });
        return answer.body;
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "version_mismatch") throw error;
        if (options.reapply === undefined || round >= this.maxReapplies) throw error;
        const fresh = await refetch(); // also records the current version
        const next = await options.reapply(fresh);
        if (next === null) throw error;
        request = next;
        key = this.newKey(); // a recomputed request is a new logical write
        expected = this.expectedVersion(options.ifMatch === undefined ? undefined : true);
      }
    }
  }

  private expectedVersion(ifMatch: boolean | number | undefined): number | undefined {
    if (typeof ifMatch === "number") return ifMatch;
    if (ifMatch !== true) return undefined;
    const known = this.version();
    if (known === undefined) {
      throw new Error("ifMatch: true needs a version: read the data (or write once) first");
    }
    return known;
  }

  private async call<T>(call: Call): Promise<Answer<T>> {
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await this.fetchImpl(this.baseUrl + call.path, this.init(call));
      } catch (failure) {
        if (call.signal?.aborted || attempt >= this.maxRetries) throw new NetworkError(failure);
        await this.wait(DEFAULT_WAIT_SECONDS);
        continue;
      }
      const version = parseEtag(response.headers.get("ETag"));
      if (version !== null) this.versions.set(this.currentUser ?? "", version);
      const text = await response.text();
      const parsed: unknown = text === "" ? null : safeJson(text);
      if (response.ok) return { body: parsed as T, version };
      const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
      const error = errorFrom(response.status, parsed, retryAfter);
      if (!this.retries(call, error) || attempt >= this.maxRetries) throw error;
      await this.wait(retryAfter ?? DEFAULT_WAIT_SECONDS);
    }
  }

  private retries(call: Call, error: ApiError): boolean {
    if (!RETRIED_STATUSES.has(error.status)) return false;
    if (error.status === 409) return error.code === "concurrent_modification";
    if (error.status === 429) return call.retry429 !== false && error.code === "rate_limited";
    return true;
  }

  private wait(seconds: number): Promise<void> {
    return this.sleep(Math.round((seconds + this.random()) * 1000));
  }

  private init(call: Call): RequestInit {
    const headers = new Headers({ Accept: "application/json" });
    if (call.body !== undefined) headers.set("Content-Type", "application/json");
    if (call.ifMatch !== undefined) headers.set("If-Match", `"${call.ifMatch}"`);
    if (call.idempotencyKey !== undefined) headers.set("Idempotency-Key", call.idempotencyKey);
    const auth = this.authState;
    if (auth.mode === "bearer" && auth.token !== undefined) headers.set("Authorization", `Bearer ${auth.token}`);
    const init: RequestInit = {
      method: call.method,
      headers,
      // The cookie only in cookie mode: a Bearer client never sends a stale cookie along.
      credentials: auth.mode === "cookie" ? "include" : "omit",
    };
    if (call.body !== undefined) init.body = JSON.stringify(call.body);
    if (call.signal !== undefined) init.signal = call.signal;
    return init;
  }
}

export function createClient(options: ClientOptions): ConversionIqClient {
  return new ConversionIqClient(options);
}

function agentPath(agentId: string): string {
  return `/api/live-agents/${encodeURIComponent(agentId)}`;
}

/** `"7"` or `W/"7"` -> 7; anything else -> null. */
export function parseEtag(value: string | null): number | null {
  const match = value === null ? null : /^(?:W\/)?"([0-9]+)"$/.exec(value.trim());
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Seconds (`Retry-After: 3`) or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^[0-9]+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
