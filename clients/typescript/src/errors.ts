import { type components, errorCodeValues } from "./schema.js";

export type ErrorCode = components["schemas"]["ErrorCode"];
export type ErrorDetail = components["schemas"]["ErrorDetail"];

/**
 * Every refusal of the API, typed: `code` is one of the API's error codes (docs/api/errors.md),
 * `details` point into the request with JSON Pointers. API Gateway's fixed `{"message": "Internal
 * server error"}` (a function that crashed or timed out) becomes `internal_error` with
 * `integrationFailure: true`.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly ErrorDetail[],
    /** Seconds from `Retry-After`, when the answer carried one. */
    readonly retryAfterSeconds: number | null,
    readonly integrationFailure = false,
  ) {
    super(message);
  }

  /** Whether the same request may be sent again later (docs/architecture/provider-graph.md). */
  get retryable(): boolean {
    return (
      this.code === "concurrent_modification" ||
      this.code === "dependency_unavailable" ||
      this.integrationFailure ||
      this.status === 502 ||
      this.status === 504
    );
  }
}

/** The request never got an answer (offline, DNS, CORS refusal, aborted). */
export class NetworkError extends Error {
  override readonly name = "NetworkError";

  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

// The enum of the OpenAPI document, generated: one list of codes.
const CODES: ReadonlySet<string> = new Set<string>(errorCodeValues);

/** Whether `code` is one of the codes this client was generated with. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && CODES.has(code);
}

/** The ApiError of a non-2xx answer, whatever its body. */
export function errorFrom(status: number, body: unknown, retryAfterSeconds: number | null): ApiError {
  if (isRecord(body) && isRecord(body.error)) {
    const error = body.error;
    const code = isErrorCode(error.code) ? error.code : fallbackCode(status);
    const message = typeof error.message === "string" ? error.message : `HTTP ${status}`;
    const details = Array.isArray(error.details) ? error.details.filter(isDetail) : [];
    return new ApiError(status, code, message, details, retryAfterSeconds);
  }
  const message = isRecord(body) && typeof body.message === "string" ? body.message : `HTTP ${status}`;
  return new ApiError(status, fallbackCode(status), message, [], retryAfterSeconds, status >= 500);
}

function fallbackCode(status: number): ErrorCode {
  if (status === 401) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status === 503 || status === 504) return "dependency_unavailable";
  if (status >= 500) return "internal_error";
  return "invalid_request";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isDetail(value: unknown): value is ErrorDetail {
  return (
    isRecord(value) &&
    typeof value.path === "string" &&
    typeof value.code === "string" &&
    typeof value.message === "string"
  );
}
