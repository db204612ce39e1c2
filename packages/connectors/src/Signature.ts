import { createHmac, timingSafeEqual } from "node:crypto"
import { Redacted } from "effect"

/**
 * Webhook verification primitives. Every comparison of a secret-derived value runs in constant time
 * (`crypto.timingSafeEqual`), so response timing tells an attacker nothing about how much of a guess
 * was right.
 */

type Secret = Redacted.Redacted<string> | string

const reveal = (secret: Secret): string => (typeof secret === "string" ? secret : Redacted.value(secret))

/** HMAC-SHA256 of `body` keyed with `secret`, as lower-case hex. */
export const hmacSha256Hex = (secret: Secret, body: Uint8Array | string): string =>
  createHmac("sha256", reveal(secret)).update(body).digest("hex")

/** Equality of two byte strings in time that depends only on their lengths. */
export const constantTimeEqual = (a: Uint8Array, b: Uint8Array): boolean =>
  a.byteLength === b.byteLength && timingSafeEqual(a, b)

/**
 * Equality of a presented token with the configured one, in constant time. Both sides are hashed first
 * so that the comparison does not leak the configured token's length either.
 */
export const tokenEquals = (presented: string, expected: Secret): boolean => {
  const digest = (s: string) => createHmac("sha256", "chat4all-token-compare").update(s).digest()
  return timingSafeEqual(digest(presented), digest(reveal(expected)))
}

export type HexSignatureCheck = "valid" | "missing" | "malformed" | "mismatch"

/**
 * Checks a `<prefix><hex HMAC-SHA256 of the raw body>` header, such as Meta's
 * `X-Hub-Signature-256: sha256=<hex>`. The hex digits may be of either case.
 */
export const verifyHexHmac = (options: {
  readonly header: string | undefined
  readonly prefix: string
  readonly secret: Secret
  readonly body: Uint8Array
}): HexSignatureCheck => {
  const { header, prefix } = options
  if (header === undefined || header.trim() === "") return "missing"
  const value = header.trim()
  if (!value.startsWith(prefix)) return "malformed"
  const hex = value.slice(prefix.length)
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return "malformed"
  const expected = Buffer.from(hmacSha256Hex(options.secret, options.body), "hex")
  return constantTimeEqual(Buffer.from(hex, "hex"), expected) ? "valid" : "mismatch"
}
