import { Fanout, type WebhookRetry, type WebhookSender, WebhookStore, Webhooks } from "@chat4all/domain"
import { Cause, Clock, Config, Context, Duration, Effect, Layer, Metric, Option, Queue, Ref } from "effect"
import * as WireWebhook from "../wire/Webhook.js"

/**
 * The webhook worker of one node: two loops over the WebhookStore.
 *
 * - The router turns committed events into deliveries (`Webhooks.route`, one atomic step per tenant,
 *   so nothing is lost or doubled if the process dies). It wakes on every event this node's fanout
 *   carries, and otherwise polls, which catches commits of other nodes.
 * - The deliverer keeps up to `concurrency` sends in flight: it claims due deliveries under a lease as
 *   room frees up, at most about `perEndpoint` in flight to one endpoint (a hanging receiver holds a few
 *   senders for its 15 s, not all of them), and settles each as it finishes. It wakes when the router made
 *   deliveries, when a send finishes, when the earliest retry it scheduled is due, and otherwise polls
 *   (retries scheduled by other nodes, replays, leases that lapsed).
 *
 * Any number of nodes run this side by side: claims are `FOR UPDATE SKIP LOCKED` with a lease, so a
 * delivery is in one worker's hands at a time, and one whose worker died is claimed again once its lease
 * lapses (at least once; receivers dedup by `webhook-id`).
 */
export class WebhookWorker extends Context.Tag("@chat4all/app/WebhookWorker")<
  WebhookWorker,
  {
    /** Asks both loops for a round now. */
    readonly nudge: Effect.Effect<void>
    /** Epoch ms of the deliverer's last completed round. */
    readonly lastRoundAt: Effect.Effect<number | undefined>
  }
>() {}

export interface Options {
  /** `CHAT4ALL_WEBHOOKS_RETRY_SCALE`: multiplies every wait of the retry schedule (tests use 0.001). */
  readonly retryScale: number
  /** Sends in flight at once on this node. */
  readonly concurrency: number
  /** Sends in flight at once to one endpoint, so that a slow or hanging endpoint cannot take them all. */
  readonly perEndpoint: number
  /** How long a claimed delivery stays this worker's: more than the 15 s a send may take. */
  readonly leaseMs: number
  /** The longest either loop sleeps without being woken. */
  readonly pollMs: number
  /** Tenants and events per tenant the router takes in one step. */
  readonly routeTenants: number
  readonly routeEvents: number
}

export const defaults: Options = {
  retryScale: 1,
  concurrency: 16,
  perEndpoint: 4,
  leaseMs: 60_000,
  pollMs: 500,
  routeTenants: 64,
  routeEvents: 500,
}

/** Attempts by what came of them: `delivered`, `retry`, `failed` (after the last), `gone` (410, disabled). */
export const attempts = Metric.counter("chat4all_webhook_attempts_total", {
  description: "Webhook delivery attempts, by outcome",
  incremental: true,
})

const outcomeOf = (settlement: WebhookRetry.Settlement) =>
  settlement.status === "succeeded"
    ? "delivered"
    : settlement.status === "pending"
      ? "retry"
      : settlement.disable !== undefined
        ? "gone"
        : "failed"

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
        return Effect.logWarning(`webhook ${name}: a round failed; retrying in ${wait} ms`, cause).pipe(
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

/** Starts both loops in the current scope; they stop when it closes (claimed deliveries then lapse). */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const fanout = yield* Fanout.Fanout
    const routeNudges = yield* Queue.sliding<void>(1)
    const deliverNudges = yield* Queue.sliding<void>(1)
    const lastRoundAt = yield* Ref.make<number | undefined>(undefined)
    /** The earliest retry this worker scheduled and has not made yet. */
    const nextRetryAt = yield* Ref.make(Number.POSITIVE_INFINITY)

    // Every event committed through this node's relay is a reason to route.
    const events = yield* fanout.subscribe.pipe(
      Effect.map(Option.some),
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning(`webhook router: cannot follow the fanout (${error.message}); polling only`),
          Option.none(),
        ),
      ),
    )
    if (Option.isSome(events))
      yield* Queue.take(events.value).pipe(
        Effect.zipRight(Queue.takeAll(events.value)),
        Effect.zipRight(Queue.offer(routeNudges, undefined)),
        Effect.forever,
        Effect.forkScoped,
      )

    const routeStep = resilient("router")(
      Effect.gen(function* () {
        const round = yield* Webhooks.route({ tenants: options.routeTenants, events: options.routeEvents })
        if (round.deliveries > 0) yield* Queue.offer(deliverNudges, undefined)
        return round.advanced
      }),
    )
    yield* routeStep.pipe(
      Effect.flatMap((advanced) =>
        Option.isSome(advanced) && advanced.value > 0 ? Effect.void : waitFor(routeNudges, options.pollMs),
      ),
      Effect.forever,
      Effect.annotateLogs("worker", "webhook-router"),
      Effect.forkScoped,
    )

    // The deliverer: a pipeline of `concurrency` sends, refilled as they finish, at most `perEndpoint` (about:
    // one claim may add up to that many to an endpoint just under it) to one endpoint.
    const scope = yield* Effect.scope
    const running = yield* Ref.make(0)
    const busy = new Map<string, { readonly ref: WebhookStore.EndpointRef; count: number }>()
    const keyOf = (ref: WebhookStore.EndpointRef) => `${ref.tenantId}\u0000${ref.webhookId}`

    const sendOne = (claimed: WebhookStore.ClaimedDelivery) => {
      const key = keyOf(claimed.delivery)
      const entry = busy.get(key) ?? { ref: claimed.delivery, count: 0 }
      entry.count++
      busy.set(key, entry)
      return Ref.update(running, (n) => n + 1).pipe(
        Effect.zipRight(
          Webhooks.deliver(claimed, { retryScale: options.retryScale, encode: WireWebhook.body }).pipe(
            Effect.tap(({ settlement, moved }) =>
              moved
                ? Metric.increment(Metric.tagged(attempts, "outcome", outcomeOf(settlement))).pipe(
                    Effect.zipRight(
                      settlement.status === "pending"
                        ? Ref.update(nextRetryAt, (at) => Math.min(at, settlement.nextAttemptAt))
                        : Effect.void,
                    ),
                  )
                : Effect.void,
            ),
            Effect.catchAllCause((cause) =>
              Cause.isInterruptedOnly(cause)
                ? Effect.interrupt
                : Effect.logWarning(
                    "webhook deliverer: an attempt could not be settled; the delivery goes out again when its lease lapses",
                    cause,
                  ),
            ),
            Effect.ensuring(
              Effect.suspend(() => {
                entry.count--
                if (entry.count === 0) busy.delete(key)
                return Ref.update(running, (n) => n - 1).pipe(
                  Effect.zipRight(Queue.offer(deliverNudges, undefined)),
                )
              }),
            ),
          ),
        ),
        Effect.forkIn(scope),
      )
    }

    /** Claims as many as there is room for: "more" when the room was filled (there may be more due). */
    const deliverStep = resilient("deliverer")(
      Effect.gen(function* () {
        const free = options.concurrency - (yield* Ref.get(running))
        if (free <= 0) return "full" as const
        const skip = [...busy.values()].filter((b) => b.count >= options.perEndpoint).map((b) => b.ref)
        const claimed = yield* WebhookStore.WebhookStore.pipe(
          Effect.flatMap((store) =>
            store.claim({ limit: free, leaseMs: options.leaseMs, perEndpoint: options.perEndpoint, skip }),
          ),
        )
        yield* Effect.forEach(claimed, sendOne, { discard: true })
        yield* Ref.set(lastRoundAt, yield* Clock.currentTimeMillis)
        return claimed.length === free ? ("more" as const) : ("idle" as const)
      }),
    )
    yield* deliverStep.pipe(
      Effect.flatMap((step) =>
        Effect.gen(function* () {
          if (Option.isSome(step) && step.value === "more") return
          const now = yield* Clock.currentTimeMillis
          const retryAt = yield* Ref.get(nextRetryAt)
          if (retryAt <= now) {
            yield* Ref.set(nextRetryAt, Number.POSITIVE_INFINITY)
            return
          }
          // A send that finishes nudges too: there is room again.
          yield* waitFor(deliverNudges, Math.min(options.pollMs, retryAt - now))
        }),
      ),
      Effect.forever,
      Effect.annotateLogs("worker", "webhook-deliverer"),
      Effect.forkScoped,
    )

    return WebhookWorker.of({
      nudge: Effect.all([Queue.offer(routeNudges, undefined), Queue.offer(deliverNudges, undefined)]).pipe(
        Effect.asVoid,
      ),
      lastRoundAt: Ref.get(lastRoundAt),
    })
  })

export const layer = (
  options: Options = defaults,
): Layer.Layer<
  WebhookWorker,
  never,
  Fanout.Fanout | WebhookStore.WebhookStore | WebhookSender.WebhookSender
> => Layer.scoped(WebhookWorker, make(options))

/** `CHAT4ALL_WEBHOOKS_RETRY_SCALE`: a positive number, 1 by default. */
export const retryScale = Config.number("CHAT4ALL_WEBHOOKS_RETRY_SCALE").pipe(
  Config.validate({
    message:
      "CHAT4ALL_WEBHOOKS_RETRY_SCALE must be a number above 0 (1 is the real schedule, 0.001 a test one)",
    validation: (n) => Number.isFinite(n) && n > 0,
  }),
  Config.withDefault(1),
)

/** The worker with the retry scale from the environment. */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(retryScale, (scale) => layer({ ...defaults, retryScale: scale })),
)
