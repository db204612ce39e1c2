import { ConversationActor, Outbox } from "@chat4all/domain"
import { Clock, Effect, Metric } from "effect"

const outboxDepth = Metric.gauge("chat4all_outbox_depth", { description: "Events not yet published" })
const outboxAge = Metric.gauge("chat4all_outbox_oldest_age_seconds", {
  description: "Age of the oldest unpublished event",
})
const actorsActive = Metric.gauge("chat4all_conversation_actors_active", {
  description: "Conversation actors alive on this node",
})
const residentMemory = Metric.gauge("process_resident_memory_bytes", { description: "Resident memory size" })
const heapUsed = Metric.gauge("nodejs_heap_used_bytes", { description: "V8 heap in use" })
const uptime = Metric.gauge("process_uptime_seconds", { description: "Seconds since the process started" })

/** Gauges read at scrape time: queue depth, live actors, memory. Failures leave the last value. */
export const collect = Effect.gen(function* () {
  const outbox = yield* Outbox.Outbox
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
