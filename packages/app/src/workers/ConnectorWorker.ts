import {
  type ChannelConnectors,
  ConnectorDeliveries,
  type ConnectorOutbox,
  type ConnectorRetry,
  type ConversationActor,
  type ConversationStore,
  Fanout,
  type IdentityStore,
  type IdGenerator,
  type MessageStore,
  type ProviderRefs,
} from "@chat4all/domain"
import { Cause, Clock, Config, Context, Duration, Effect, Layer, Metric, Option, Queue, Ref } from "effect"

/**
 * The connector worker of one node: two loops over the ConnectorOutbox, built like the webhook worker.
 *
 * - The router plans the messages committed since each tenant's cursor (`ConnectorDeliveries.routeDue`:
 *   the message's channels x the recipients' identities x the tenant's connectors, each send recorded as
 *   `pending`) and commits the sends with the cursor's move. It wakes on every `message.created` this
 *   node's fanout carries, and otherwise polls (commits of other nodes, lapsed leases).
 * - The deliverer claims due sends under a lease, sends them through the tenant's connector
 *   (`concurrency` at a time) and settles them: `sent` with the provider's id, a retry after the
 *   schedule's wait, or `failed` with the error. It wakes when the router made sends, when the earliest
 *   retry it scheduled is due, and otherwise polls.
 *
 * Any number of nodes run this side by side: route and send claims are `FOR UPDATE SKIP LOCKED` with a
 * lease, so a stretch or a send is in one worker's hands at a time, and one whose worker died is taken
 * again once its lease lapses. A message committed before the process dies is routed and sent after the
 * restart: nothing lives only in memory.
 */
export class ConnectorWorker extends Context.Tag("@chat4all/app/ConnectorWorker")<
  ConnectorWorker,
  {
    /** Asks both loops for a round now. */
    readonly nudge: Effect.Effect<void>
    /** Epoch ms of the deliverer's last completed round. */
    readonly lastRoundAt: Effect.Effect<number | undefined>
  }
>() {}

export interface Options {
  /** `CHAT4ALL_CONNECTORS_RETRY_SCALE`: multiplies every wait of the retry schedule (tests use 0.001). */
  readonly retryScale: number
  /** Sends claimed per round, and made at once. */
  readonly batch: number
  readonly concurrency: number
  /** How long a claimed send stays this worker's: more than a connector's longest timeout (60 s). */
  readonly leaseMs: number
  /** How long a routed stretch stays this router's. */
  readonly routeLeaseMs: number
  /** The longest either loop sleeps without being woken. */
  readonly pollMs: number
  /** Tenants, and log positions per tenant, the router takes in one round. */
  readonly routeTenants: number
  readonly routeEvents: number
}

export const defaults: Options = {
  retryScale: 1,
  batch: 32,
  concurrency: 16,
  leaseMs: 120_000,
  routeLeaseMs: 60_000,
  pollMs: 500,
  routeTenants: 32,
  routeEvents: 500,
}

/** Sends by what came of them: `sent`, `retry`, `failed`. */
export const sends = Metric.counter("chat4all_connector_deliveries_total", {
  description: "Connector delivery attempts by the worker, by outcome (sent, retry, failed)",
  incremental: true,
})

const outcomeOf = (settlement: ConnectorRetry.Settlement) =>
  settlement.status === "succeeded" ? "sent" : settlement.status === "pending" ? "retry" : "failed"

/** A loop step whose failure is logged and followed by a pause that grows to a minute: none then. */
const resilient = (name: string) => {
  let failures = 0
  return <A, E, R>(step: Effect.Effect<A, E, R>): Effect.Effect<Option.Option<A>, never, R> =>
    step.pipe(
      Effect.map((a) => {
        failures = 0
        return Option.some(a)
      }),
      Effect.catchAllCause((cause) => {
        if (Cause.isInterruptedOnly(cause)) return Effect.interrupt
        failures++
        const wait = Math.min(60_000, 250 * 2 ** Math.min(failures - 1, 10))
        return Effect.logWarning(`connector ${name}: a round failed; retrying in ${wait} ms`, cause).pipe(
          Effect.zipRight(Effect.sleep(Duration.millis(wait))),
          Effect.as(Option.none<A>()),
        )
      }),
    )
}

/** Waits for a nudge, at most `ms`; drains the nudges that piled up. */
const waitFor = (nudges: Queue.Queue<void>, ms: number) =>
  Queue.take(nudges).pipe(
    Effect.timeoutOption(Duration.millis(Math.max(0, ms))),
    Effect.zipRight(Queue.takeAll(nudges)),
    Effect.asVoid,
  )

/** Starts both loops in the current scope; they stop when it closes (claimed work then lapses). */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const fanout = yield* Fanout.Fanout
    const routeNudges = yield* Queue.sliding<void>(1)
    const deliverNudges = yield* Queue.sliding<void>(1)
    const lastRoundAt = yield* Ref.make<number | undefined>(undefined)
    /** The earliest retry this worker scheduled and has not made yet. */
    const nextRetryAt = yield* Ref.make(Number.POSITIVE_INFINITY)

    // A message committed through this node's relay is a reason to route.
    const events = yield* fanout.subscribe.pipe(
      Effect.map(Option.some),
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning(`connector router: cannot follow the fanout (${error.message}); polling only`),
          Option.none(),
        ),
      ),
    )
    if (Option.isSome(events))
      yield* Queue.take(events.value).pipe(
        Effect.zipWith(
          Queue.takeAll(events.value),
          (first, rest) =>
            first.type === "message.created" || [...rest].some((e) => e.type === "message.created"),
        ),
        Effect.flatMap((created) => (created ? Queue.offer(routeNudges, undefined) : Effect.void)),
        Effect.forever,
        Effect.forkScoped,
      )

    const routeStep = resilient("router")(
      Effect.gen(function* () {
        const round = yield* ConnectorDeliveries.routeDue({
          tenants: options.routeTenants,
          events: options.routeEvents,
          leaseMs: options.routeLeaseMs,
        })
        if (round.planned > 0) yield* Queue.offer(deliverNudges, undefined)
        return round.claimed
      }),
    )
    yield* routeStep.pipe(
      Effect.flatMap((claimed) =>
        Option.isSome(claimed) && claimed.value > 0 ? Effect.void : waitFor(routeNudges, options.pollMs),
      ),
      Effect.forever,
      Effect.annotateLogs("worker", "connector-router"),
      Effect.forkScoped,
    )

    const deliverStep = resilient("deliverer")(
      Effect.gen(function* () {
        const round = yield* ConnectorDeliveries.deliverDue({
          limit: options.batch,
          leaseMs: options.leaseMs,
          concurrency: options.concurrency,
          retryScale: options.retryScale,
        })
        for (const { settlement, moved } of round.results) {
          if (!moved) continue
          yield* Metric.increment(Metric.tagged(sends, "outcome", outcomeOf(settlement)))
          if (settlement.status === "pending")
            yield* Ref.update(nextRetryAt, (at) => Math.min(at, settlement.nextAttemptAt))
        }
        yield* Ref.set(lastRoundAt, yield* Clock.currentTimeMillis)
        return round.claimed
      }),
    )
    yield* deliverStep.pipe(
      Effect.flatMap((claimed) =>
        Effect.gen(function* () {
          if (Option.isSome(claimed) && claimed.value >= options.batch) return
          const now = yield* Clock.currentTimeMillis
          const retryAt = yield* Ref.get(nextRetryAt)
          if (retryAt <= now) {
            yield* Ref.set(nextRetryAt, Number.POSITIVE_INFINITY)
            return
          }
          yield* waitFor(deliverNudges, Math.min(options.pollMs, retryAt - now))
        }),
      ),
      Effect.forever,
      Effect.annotateLogs("worker", "connector-deliverer"),
      Effect.forkScoped,
    )

    return ConnectorWorker.of({
      nudge: Effect.all([Queue.offer(routeNudges, undefined), Queue.offer(deliverNudges, undefined)]).pipe(
        Effect.asVoid,
      ),
      lastRoundAt: Ref.get(lastRoundAt),
    })
  })

/** What the loops run on. */
export type Requirements =
  | Fanout.Fanout
  | ConnectorOutbox.ConnectorOutbox
  | ChannelConnectors.ChannelConnectors
  | ProviderRefs.ProviderRefs
  | ConversationStore.ConversationStore
  | ConversationActor.ConversationActor
  | MessageStore.MessageStore
  | IdentityStore.IdentityStore
  | IdGenerator.IdGenerator

export const layer = (options: Options = defaults): Layer.Layer<ConnectorWorker, never, Requirements> =>
  Layer.scoped(ConnectorWorker, make(options))

/** `CHAT4ALL_CONNECTORS_RETRY_SCALE`: a positive number, 1 by default. */
export const retryScale = Config.number("CHAT4ALL_CONNECTORS_RETRY_SCALE").pipe(
  Config.validate({
    message:
      "CHAT4ALL_CONNECTORS_RETRY_SCALE must be a number above 0 (1 is the real schedule, 0.001 a test one)",
    validation: (n) => Number.isFinite(n) && n > 0,
  }),
  Config.withDefault(1),
)

/** The worker with the retry scale from the environment. */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(retryScale, (scale) => layer({ ...defaults, retryScale: scale })),
)
