import { Clock, Effect, Redacted } from "effect"
import { ConnectorError } from "./ConnectorError.js"

/**
 * HTTP calls to a provider, done the way every connector must do them: node's `fetch` with a hard
 * timeout (`AbortSignal.timeout`, and aborted too when the calling fiber is interrupted), redirects never
 * followed (a 3xx is an error: following it would carry the credentials to another host), the answer
 * read up to a size limit, and secrets scrubbed from every error detail.
 */

/** The most of a provider's answer a connector reads; providers answer sends in a few hundred bytes. */
export const maxResponseBytes = 1024 * 1024

export interface Request {
  /** The registry name of the connector, for error messages. */
  readonly connector: string
  readonly method: "GET" | "POST"
  readonly url: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Sent as `application/json`. */
  readonly json?: unknown
  readonly timeoutMs: number
  /** Values that must never appear in an error (tokens in URLs, for instance). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string> | string> | undefined
}

export interface Response {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: unknown
}

/** Replaces every secret in `text` with `<redacted>`. */
export const scrub = (
  text: string,
  secrets: ReadonlyArray<Redacted.Redacted<string> | string> | undefined,
): string => {
  let out = text
  for (const secret of secrets ?? []) {
    const value = typeof secret === "string" ? secret : Redacted.value(secret)
    if (value.length > 0) out = out.split(value).join("<redacted>")
  }
  return out
}

const describeCause = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code
      parts.push(typeof code === "string" ? `${current.message} (${code})` : current.message)
      current = (current as { cause?: unknown }).cause
    } else {
      parts.push(String(current))
      break
    }
  }
  return parts.filter((p) => p.trim() !== "").join(": ")
}

const readBounded = async (response: globalThis.Response, limit: number): Promise<string | undefined> => {
  if (response.body === null) return ""
  const reader = response.body.getReader()
  const chunks: Array<Uint8Array> = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      return undefined
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString("utf8")
}

const parseJson = (text: string): unknown => {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/**
 * One call to the provider. Fails only when there is no usable HTTP answer: `network` and `timeout`
 * (retryable), `redirect` (not retryable), an oversize answer (`bad_response`). Any status code is
 * returned as a `Response`: classifying it is the connector's job (`classifyStatus` does the generic part).
 */
export const request = (input: Request): Effect.Effect<Response, ConnectorError> =>
  Effect.tryPromise({
    // The timeout is Effect's (below): interrupting this fiber aborts `signal`, which ends the fetch. A
    // timer from AbortSignal.timeout inside AbortSignal.any could be collected before it fired on Node 20,
    // leaving a send to a provider that never answers waiting forever (seen as a rare 60 s test timeout).
    try: async (signal) => {
      const headers: Record<string, string> = { accept: "application/json", ...input.headers }
      const init: RequestInit = { method: input.method, headers, redirect: "manual", signal }
      if (input.json !== undefined) {
        headers["content-type"] = "application/json"
        init.body = JSON.stringify(input.json)
      }
      const response = await fetch(input.url, init)
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel()
        return { redirect: response.status, location: response.headers.get("location") } as const
      }
      const text = await readBounded(response, maxResponseBytes)
      return { response, text } as const
    },
    catch: (cause) =>
      new ConnectorError({
        connector: input.connector,
        reason: "network",
        retryable: true,
        detail: scrub(`could not reach ${hostOf(input.url)}: ${describeCause(cause)}`, input.secrets),
      }),
  }).pipe(
    Effect.timeoutFail({
      duration: input.timeoutMs,
      onTimeout: () =>
        new ConnectorError({
          connector: input.connector,
          reason: "timeout",
          retryable: true,
          detail: `no answer from ${hostOf(input.url)} within ${input.timeoutMs} ms`,
        }),
    }),
    Effect.flatMap((outcome) => {
      if ("redirect" in outcome)
        return Effect.fail(
          new ConnectorError({
            connector: input.connector,
            reason: "redirect",
            retryable: false,
            status: outcome.redirect,
            detail: scrub(
              `${hostOf(input.url)} answered a redirect to ${outcome.location ?? "(no Location)"}; ` +
                "redirects are not followed, check the connector's baseUrl",
              input.secrets,
            ),
          }),
        )
      const { response, text } = outcome
      if (text === undefined)
        return Effect.fail(
          new ConnectorError({
            connector: input.connector,
            reason: "bad_response",
            retryable: false,
            status: response.status,
            detail: `${hostOf(input.url)} answered more than ${maxResponseBytes} bytes`,
          }),
        )
      return Effect.succeed({
        status: response.status,
        headers: response.headers,
        text,
        json: parseJson(text),
      })
    }),
  )

const hostOf = (url: string): string => {
  try {
    return new URL(url).host
  } catch {
    return "the provider"
  }
}

/**
 * `Retry-After` in milliseconds: delta-seconds (`120`) or an HTTP date, relative to `now`. `undefined`
 * when absent or unreadable; never negative.
 */
export const parseRetryAfter = (value: string | null | undefined, now: number): number | undefined => {
  if (value === null || value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  // HTTP dates (IMF-fixdate, RFC 850, asctime) all start with the day's name.
  if (!/^[A-Za-z]{3}/.test(trimmed)) return undefined
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The generic verdict on an HTTP status, before any provider-specific reading of the body. */
export interface StatusVerdict {
  readonly reason: "rate_limited" | "provider_unavailable" | "unauthorized" | "rejected"
  readonly retryable: boolean
}

/**
 * 429 is `rate_limited` and 5xx (and 408) `provider_unavailable`, both retryable; 401 and 403 are
 * `unauthorized` and every other 4xx `rejected`, neither retryable.
 */
export const classifyStatus = (status: number): StatusVerdict =>
  status === 429
    ? { reason: "rate_limited", retryable: true }
    : status >= 500 || status === 408
      ? { reason: "provider_unavailable", retryable: true }
      : status === 401 || status === 403
        ? { reason: "unauthorized", retryable: false }
        : { reason: "rejected", retryable: false }

/**
 * The `ConnectorError` for a non-2xx answer: the generic verdict, the `Retry-After` header when there is
 * one, and `detail` from the connector's reading of the body.
 */
export const statusError = (
  connector: string,
  response: Response,
  detail: string,
  extra?: { readonly providerCode?: string | undefined; readonly retryAfterMs?: number | undefined },
): Effect.Effect<ConnectorError> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const verdict = classifyStatus(response.status)
    const retryAfterMs = extra?.retryAfterMs ?? parseRetryAfter(response.headers.get("retry-after"), now)
    return new ConnectorError({
      connector,
      reason: verdict.reason,
      retryable: verdict.retryable,
      status: response.status,
      detail,
      ...(extra?.providerCode === undefined ? {} : { providerCode: extra.providerCode }),
      ...(retryAfterMs === undefined || !verdict.retryable ? {} : { retryAfterMs }),
    })
  })

/** A `bad_response` error: the provider said yes in a shape the connector cannot read. */
export const badResponse = (connector: string, response: Response, expected: string): ConnectorError =>
  new ConnectorError({
    connector,
    reason: "bad_response",
    retryable: false,
    status: response.status,
    detail: `expected ${expected}, got ${JSON.stringify(response.text.slice(0, 200))}`,
  })
