import * as Crypto from "node:crypto"
import { Webhook } from "@chat4all/domain"

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `v1,` and the base64 HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's bytes (the base64 after `whsec_`).
 * Several signatures go in one `webhook-signature` header, separated by spaces: a receiver accepts the
 * request when any of them verifies, which is what lets a secret be rotated without a gap.
 */

/** The key a secret stands for: the bytes its base64 encodes. */
export const keyOf = (secret: Webhook.WebhookSecret): Buffer =>
  Buffer.from(secret.slice(Webhook.secretPrefix.length), "base64")

/** One `v1,<base64>` signature. */
export const sign = (secret: Webhook.WebhookSecret, id: string, timestamp: number, body: string): string =>
  `v1,${Crypto.createHmac("sha256", keyOf(secret)).update(`${id}.${timestamp}.${body}`, "utf8").digest("base64")}`

/** The `webhook-signature` header: one signature per secret, space-separated, the current secret first. */
export const header = (
  secrets: ReadonlyArray<Webhook.WebhookSecret>,
  id: string,
  timestamp: number,
  body: string,
): string => secrets.map((secret) => sign(secret, id, timestamp, body)).join(" ")

/** The bytes of a new secret: 32, within the 24-64 Standard Webhooks asks for. */
export const secretBytes = 32

/** A new secret from the system's CSPRNG: `whsec_` and the base64 of 32 random bytes. */
export const newSecret = (): Webhook.WebhookSecret =>
  Webhook.WebhookSecret.make(`${Webhook.secretPrefix}${Crypto.randomBytes(secretBytes).toString("base64")}`)
