import { Effect, ParseResult, Redacted, Schema } from "effect"
import { InvalidSettings } from "./ConnectorError.js"

/**
 * Per-tenant connector settings. Each connector declares an Effect Schema built from these pieces;
 * the app decodes `PUT /v1/connectors/{name}` bodies with it and stores the encoded form.
 *
 * Secrets decode to `Redacted` values: `String`, `JSON.stringify` and `util.inspect` of settings print
 * `<redacted>`, never the secret. Encoding with the schema gives the plain values back; that is for the
 * store only. Anything shown to a person or a log goes through `redact`.
 */

/** What `redact` prints in place of a secret. */
export const redactedMarker = "<redacted>"

const secretString = Schema.String.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(4096, { message: () => "must be at most 4096 characters" }),
  Schema.filter((s) => s !== redactedMarker, {
    message: () => `send the secret itself; ${redactedMarker} is what reads of the settings show`,
  }),
)

/**
 * A secret (token, app secret, verify token): non-empty, and never the redaction marker itself, which is
 * what an admin would send back after copying the settings from a `GET`.
 */
export const Secret = Schema.Redacted(secretString)

/** A secret with a format of its own (a Telegram bot token); `expected` says it without revealing input. */
export const secretMatching = (pattern: RegExp, expected: string) =>
  Schema.Redacted(secretString.pipe(Schema.pattern(pattern, { message: () => `must be ${expected}` })))

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"])

/**
 * The provider's base URL: `https`, or `http` to a loopback host (stand-ins, local proxies); no
 * credentials, query or fragment. A trailing slash is dropped, so `{baseUrl}/v21.0/...` is well formed.
 */
export const BaseUrl = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (input, _, ast) => {
    let url: URL
    try {
      url = new URL(input)
    } catch {
      return ParseResult.fail(new ParseResult.Type(ast, input, "must be an absolute URL"))
    }
    const problem =
      url.protocol !== "https:" && !(url.protocol === "http:" && loopbackHosts.has(url.hostname))
        ? "must use https (http only for localhost)"
        : url.username !== "" || url.password !== ""
          ? "must not carry credentials; put them in the connector's token fields"
          : url.search !== "" || url.hash !== ""
            ? "must not have a query or fragment"
            : undefined
    if (problem !== undefined) return ParseResult.fail(new ParseResult.Type(ast, input, problem))
    return ParseResult.succeed(`${url.origin}${url.pathname}`.replace(/\/+$/, ""))
  },
  encode: ParseResult.succeed,
})

/** The provider's API version as it appears in URLs (`v21.0`). */
export const GraphApiVersion = Schema.String.pipe(
  Schema.pattern(/^v[0-9]{1,3}\.[0-9]{1,2}$/, { message: () => "must look like v21.0" }),
)

/** Per-request timeout towards the provider, 100 ms to 60 s; 10 s by default. */
export const TimeoutMs = Schema.Int.pipe(Schema.between(100, 60_000))

/** The fields every connector's settings have. */
export const commonFields = (defaultBaseUrl: string) => ({
  /** A disabled connector is skipped by routing, refuses sends and answers webhooks with 404. */
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  baseUrl: Schema.optionalWith(BaseUrl, { default: () => defaultBaseUrl }),
  timeoutMs: Schema.optionalWith(TimeoutMs, { default: () => 10_000 }),
})

/**
 * Settings with every secret replaced by `<redacted>`, as plain JSON-ready data: what `GET /v1/connectors`
 * shows and what logs may carry.
 */
export const redact = (settings: unknown): unknown => {
  if (Redacted.isRedacted(settings)) return redactedMarker
  if (Array.isArray(settings)) return settings.map(redact)
  if (settings !== null && typeof settings === "object")
    return Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, redact(v)]))
  return settings
}

/**
 * Decodes settings input with a connector's schema, failing with `InvalidSettings` that names the first
 * offending field (`accessToken`, `baseUrl`...) and says what is wrong with it. Excess fields are errors:
 * a misspelt field would otherwise be silently ignored.
 */
export const decode =
  <A, I>(connector: string, schema: Schema.Schema<A, I>) =>
  (input: unknown): Effect.Effect<A, InvalidSettings> =>
    Schema.decodeUnknown(schema, { errors: "all", onExcessProperty: "error" })(input).pipe(
      Effect.mapError((error) => {
        const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
        const first = issues[0]
        return new InvalidSettings({
          connector,
          field: first === undefined ? "" : first.path.map(String).join("."),
          detail:
            first === undefined
              ? error.message
              : issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; "),
        })
      }),
    )
