import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect, Layer } from "effect"
import type * as Nats from "../../src/nats/index.js"

/**
 * Where the NATS suites run: NATS_URL, or under CI the local server (CI must fail loudly when it is
 * missing, never skip). Without either, the suites skip with a notice.
 */
export const natsUrl: string | undefined =
  process.env.NATS_URL ?? (process.env.CI === "true" ? "nats://127.0.0.1:4222" : undefined)

export const skipNotice =
  "NATS suites skipped: NATS_URL is not set (start nats-server -js and set NATS_URL=nats://127.0.0.1:4222, or run under CI=true)"

let counter = 0
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

/** Stream, subject prefix and bucket names no other run or suite uses. */
export const freshOptions = (label: string): Nats.Options => {
  const id = `${run}_${label}_${++counter}`
  return {
    servers: natsUrl ?? "nats://127.0.0.1:4222",
    stream: `CHAT4ALL_TEST_${id}`.toUpperCase(),
    subjectPrefix: `chat4all_test_${id}`,
    presenceBucket: `chat4all_test_presence_${id}`,
    storage: "memory",
  }
}

/** Deletes what a run created: the stream and the presence bucket (its stream is `KV_<bucket>`). */
export const deleteResources = (options: Nats.Options) =>
  Effect.promise(async () => {
    const nc = await connect({ servers: options.servers })
    try {
      const jsm = await jetstreamManager(nc)
      for (const name of [options.stream, `KV_${options.presenceBucket}`])
        await jsm.streams.delete(name).catch(() => false)
    } finally {
      await nc.close()
    }
  })

/** A layer that deletes the run's resources when it is released (after the suite). */
export const cleanup = (options: Nats.Options) =>
  Layer.scopedDiscard(Effect.addFinalizer(() => deleteResources(options)))
