/**
 * A provider's HTTP callback as the connector sees it: the raw body bytes (signatures are computed over
 * them, so never re-serialise a parsed body), lower-case header names, and the query string.
 */
export interface WebhookRequest {
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** Header values as Node (`IncomingHttpHeaders`), @effect/platform or a plain record carries them. */
export type HeadersInput =
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  | Iterable<readonly [string, string]>

const isIterable = (value: unknown): value is Iterable<readonly [string, string]> =>
  typeof value === "object" && value !== null && Symbol.iterator in value

const normalizeHeaders = (input: HeadersInput): Record<string, string> => {
  const out: Record<string, string> = {}
  const entries: Iterable<readonly [string, string | ReadonlyArray<string> | undefined]> = isIterable(input)
    ? input
    : Object.entries(input)
  for (const [name, value] of entries) {
    if (value === undefined) continue
    const key = name.toLowerCase()
    const joined = typeof value === "string" ? value : value.join(", ")
    out[key] = out[key] === undefined ? joined : `${out[key]}, ${joined}`
  }
  return out
}

const queryOf = (url: string): Record<string, string> => {
  const at = url.indexOf("?")
  const out: Record<string, string> = {}
  if (at < 0) return out
  for (const [key, value] of new URLSearchParams(url.slice(at + 1))) if (!(key in out)) out[key] = value
  return out
}

/**
 * Builds a `WebhookRequest` from what any HTTP server has at hand. `url` may be a path with its query
 * (`/v1/connectors/whatsapp/webhook?hub.mode=subscribe`) or an absolute URL; only the query is kept.
 * The first value wins when a query parameter repeats.
 */
export const make = (input: {
  readonly method: string
  readonly url: string
  readonly headers: HeadersInput
  readonly body?: Uint8Array | string | undefined
}): WebhookRequest => ({
  method: input.method.toUpperCase(),
  headers: normalizeHeaders(input.headers),
  query: queryOf(input.url),
  body:
    input.body === undefined
      ? new Uint8Array(0)
      : typeof input.body === "string"
        ? new TextEncoder().encode(input.body)
        : input.body,
})

/** A header by name, case-insensitively. */
export const header = (request: WebhookRequest, name: string): string | undefined =>
  request.headers[name.toLowerCase()]

/** The body decoded as UTF-8 (invalid sequences become U+FFFD). */
export const text = (request: WebhookRequest): string => new TextDecoder().decode(request.body)
