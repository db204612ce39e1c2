import { ConversationActor, Outbox, OutboxRelay } from "@chat4all/domain"
import { Clock, Effect, Metric } from "effect"

const outboxDepth = Metric.gauge("chat4all_outbox_depth", { description: "Events not yet published" })
const outboxAge = Metric.gauge("chat4all_outbox_oldest_age_seconds", {
  description: "Age of the oldest unpublished event",
})
const actorsActive = Metric.gauge("chat4all_conversation_actors_active", {
  description: "Conversation actors alive on this node",
})
const relayPublished = Metric.counter("chat4all_outbox_published_total", {
  description: "Events the outbox relay published to the fanout (a retried publish counts again)",
  incremental: true,
})
const relayFailures = Metric.counter("chat4all_outbox_relay_failures_total", {
  description: "Outbox relay rounds that failed and were retried",
  incremental: true,
})
const residentMemory = Metric.gauge("process_resident_memory_bytes", { description: "Resident memory size" })
const heapUsed = Metric.gauge("nodejs_heap_used_bytes", { description: "V8 heap in use" })
const uptime = Metric.gauge("process_uptime_seconds", { description: "Seconds since the process started" })

/** Each relay's running totals as last seen, so the counters move by the difference. */
const seen = new WeakMap<object, { published: number; failures: number }>()

/** Gauges read at scrape time: queue depth, relay totals, live actors, memory. Failures leave the last value. */
export const collect = Effect.gen(function* () {
  const outbox = yield* Outbox.Outbox
  const relay = yield* OutboxRelay.OutboxRelay
  const published = yield* relay.published
  const failures = yield* relay.failures
  const last = seen.get(relay) ?? { published: 0, failures: 0 }
  yield* Metric.incrementBy(relayPublished, Math.max(0, published - last.published))
  yield* Metric.incrementBy(relayFailures, Math.max(0, failures - last.failures))
  seen.set(relay, { published, failures })
  const actors = yield* ConversationActor.ConversationActor
  const now = yield* Clock.currentTimeMillis
  yield* outbox.depth.pipe(
    Effect.flatMap((depth) =>
      Effect.zipRight(
        Metric.set(outboxDepth, depth.count),
        Metric.set(outboxAge, depth.oldestAt === undefined ? 0 : Math.max(0, now - depth.oldestAt) / 1000),
      ),
    ),
    Effect.ignore,
  )
  yield* Metric.set(actorsActive, (yield* actors.active).length)
  const memory = process.memoryUsage()
  yield* Metric.set(residentMemory, memory.rss)
  yield* Metric.set(heapUsed, memory.heapUsed)
  yield* Metric.set(uptime, process.uptime())
})
