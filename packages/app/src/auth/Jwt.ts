import { webcrypto } from "node:crypto"
import { Caller, Ids } from "@chat4all/domain"
import { Clock, Context, Data, Effect, Layer, Option, Redacted, Schema } from "effect"
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from "jose"
import * as AppConfig from "../config.js"
import * as Secret from "./Secret.js"

/** A token that does not authenticate anyone: malformed, expired, wrongly signed or of another algorithm. */
export class TokenRejected extends Data.TaggedError("TokenRejected")<{ readonly reason: string }> {}

/** The JWKS endpoint could not be read: not the caller's fault. */
export class KeySetUnavailable extends Data.TaggedError("KeySetUnavailable")<{ readonly reason: string }> {}

/** The claims Chat4All reads: `sub` (user), `tid` (tenant), `role` (default `user`), `exp`. */
export const Claims = Schema.Struct({
  sub: Ids.UserId,
  tid: Ids.TenantId,
  role: Schema.optionalWith(Caller.Role, { default: () => "user" as const }),
  exp: Schema.Number,
})
export type Claims = typeof Claims.Type

const decodeClaims = Schema.decodeUnknown(Claims, { errors: "first" })

/** Verifies bearer tokens with the one key source configured, the algorithm pinned. */
export class TokenVerifier extends Context.Tag("@chat4all/app/TokenVerifier")<
  TokenVerifier,
  {
    /** `HS256` with a shared secret, or `RS256`/`ES256` from a JWKS URL. */
    readonly algorithms: ReadonlyArray<string>
    readonly verify: (token: string) => Effect.Effect<Claims, TokenRejected | KeySetUnavailable>
  }
>() {}

const rejection = (error: unknown): TokenRejected | KeySetUnavailable => {
  const code = (error as { code?: unknown }).code
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return new TokenRejected({ reason: "the token has expired" })
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return new TokenRejected({ reason: "the token's signing algorithm is not accepted" })
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return new TokenRejected({ reason: "the token's signature does not verify" })
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return new TokenRejected({ reason: `the token's claims are invalid: ${(error as Error).message}` })
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return new TokenRejected({ reason: "no key of the key set matches the token" })
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JWKS_INVALID":
      return new KeySetUnavailable({ reason: (error as Error).message })
    case "ERR_JOSE_NOT_SUPPORTED":
      return new TokenRejected({ reason: "the token uses an unsupported algorithm or key" })
    default:
      if (typeof code === "string" && code.startsWith("ERR_J"))
        return new TokenRejected({ reason: "the token is malformed" })
      // A fetch of the key set that failed outright (network) lands here.
      return new KeySetUnavailable({ reason: error instanceof Error ? error.message : String(error) })
  }
}

/** Verified tokens kept so that a client's next request skips the signature check. */
const cacheSize = 10_000
/** A cached verification is trusted this long at most (and never past the token's `exp`). */
const cacheTtlMs = 5 * 60_000

const make = (
  key: () => Promise<webcrypto.CryptoKey> | JWTVerifyGetKey,
  algorithms: ReadonlyArray<string>,
) => {
  const options = { algorithms: [...algorithms], requiredClaims: ["exp"], clockTolerance: 5 }
  const verified = new Map<string, { readonly claims: Claims; readonly until: number }>()
  const check = (token: string) =>
    Effect.tryPromise({
      try: async () => {
        const resolved = key()
        return typeof resolved === "function"
          ? jwtVerify(token, resolved, options)
          : jwtVerify(token, await resolved, options)
      },
      catch: rejection,
    })
  return TokenVerifier.of({
    algorithms,
    verify: (token) =>
      Effect.gen(function* () {
        if (token.length === 0) return yield* new TokenRejected({ reason: "no bearer token was sent" })
        const now = yield* Clock.currentTimeMillis
        const hit = verified.get(token)
        if (hit !== undefined && hit.until > now) return hit.claims
        if (hit !== undefined) verified.delete(token)
        const { payload } = yield* check(token)
        const claims = yield* decodeClaims(payload).pipe(
          Effect.mapError(
            (error) => new TokenRejected({ reason: `the token's claims are invalid: ${error.message}` }),
          ),
        )
        if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string)
        verified.set(token, { claims, until: Math.min(claims.exp * 1000, now + cacheTtlMs) })
        return claims
      }),
  })
}

/** HS256 with a shared secret (imported as a key once, on first use). */
export const hs256 = (secret: string) => {
  let imported: Promise<webcrypto.CryptoKey> | undefined
  const key = () =>
    (imported ??= webcrypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    ))
  return make(key, ["HS256"])
}

/** RS256 or ES256 with keys from a JWKS endpoint (cached and refreshed by jose). */
export const jwks = (url: URL) => {
  const keySet = createRemoteJWKSet(url)
  return make(() => keySet, ["RS256", "ES256"])
}

/** The HS256 secret: CHAT4ALL_JWT_SECRET, or the one generated into DATA_DIR. */
export const sharedSecret = Effect.gen(function* () {
  const fromEnv = yield* AppConfig.jwtSecret
  if (Option.isSome(fromEnv)) {
    const secret = Redacted.value(fromEnv.value)
    if (secret.length < 32)
      yield* Effect.logWarning("CHAT4ALL_JWT_SECRET is shorter than 32 characters; use a longer secret")
    return secret
  }
  return yield* Secret.loadOrCreate(yield* AppConfig.dataDir)
})

/** CHAT4ALL_JWKS_URL when set, otherwise HS256 with the shared secret. */
export const layerConfig = Layer.effect(
  TokenVerifier,
  Effect.gen(function* () {
    const url = yield* AppConfig.jwksUrl
    if (Option.isSome(url)) {
      yield* Effect.logInfo(`verifying tokens with RS256/ES256 keys from ${url.value.href}`)
      return jwks(url.value)
    }
    return hs256(yield* sharedSecret)
  }),
)

/** Mints an HS256 token, for `chat4all token` and tests. */
export const sign = (
  secret: string,
  claims: { readonly sub: string; readonly tid: string; readonly role?: string | undefined },
  ttlSeconds: number,
): Effect.Effect<string> => {
  const payload: JWTPayload = { tid: claims.tid, role: claims.role ?? "user" }
  return Effect.promise(() =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(new TextEncoder().encode(secret)),
  )
}
