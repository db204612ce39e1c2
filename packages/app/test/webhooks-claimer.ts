/**
 * The process that dies in the webhook crash test: it claims every due webhook delivery exactly as a
 * worker does (the real PgWebhookStore, the real lease), says what it claimed on stdout, and then hangs
 * before sending anything, until the test kills it with SIGKILL.
 *
 * Environment: C4A_URL (PostgreSQL), C4A_SCHEMA (optional), C4A_LEASE_MS.
 */
import { PgWebhookStore, PostgresStore } from "@chat4all/adapters/postgres"
import { WebhookStore } from "@chat4all/domain"
import { Clock, Effect, Redacted } from "effect"

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`webhooks-claimer: ${name} is not set`)
  return value
}

const program = Effect.gen(function* () {
  const store = yield* WebhookStore.WebhookStore
  // The lease runs until at least `before + C4A_LEASE_MS` (the store reads the clock after this).
  const before = yield* Clock.currentTimeMillis
  const claimed = yield* store.claim({ limit: 100, leaseMs: Number(env("C4A_LEASE_MS")) })
  process.stdout.write(`${JSON.stringify({ before, claimed: claimed.map((c) => c.delivery.id) })}\n`)
  // Between claim and send: this is where the process dies.
  return yield* Effect.never
})

const schema = process.env.C4A_SCHEMA
Effect.runPromise(
  program.pipe(
    Effect.provide(PgWebhookStore.layer),
    Effect.provide(
      PostgresStore.clientLayer({
        url: Redacted.make(env("C4A_URL")),
        maxConnections: 1,
        ...(schema === undefined || schema === "" ? {} : { schema }),
      }),
    ),
  ),
).catch((error) => {
  process.stderr.write(`webhooks-claimer failed: ${String(error)}\n`)
  process.exit(1)
})
