import { Event, Fanout } from "@chat4all/domain"
import {
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JsMsg,
  StorageType,
  type StreamInfo,
} from "@nats-io/jetstream"
import { Cause, Duration, Effect, Either, Layer, PubSub, Runtime, Schema } from "effect"
import { encodeToken, validPrefix } from "./internal/tokens.js"
import { NatsClient, unavailable } from "./NatsClient.js"

export interface Options {
  /** The JetStream stream that carries events (one per deployment). */
  readonly stream: string
  /** Events go to `<prefix>.events.<tenant>.<conversation>`; the stream holds `<prefix>.events.>`. */
  readonly subjectPrefix: string
  /**
   * How long the stream keeps an event. It only carries live traffic (a client that was away resumes from
   * the EventLog), so this bounds the catch-up of a node whose consumer fell behind, nothing more.
   */
  readonly maxAge: Duration.DurationInput
  /** Relay retries within this window are dropped by the server (`Nats-Msg-Id` = event id). */
  readonly duplicateWindow: Duration.DurationInput
  readonly storage: "file" | "memory"
}

export const defaults: Options = {
  stream: "CHAT4ALL_EVENTS",
  subjectPrefix: "chat4all",
  maxAge: "1 hour",
  duplicateWindow: "2 minutes",
  storage: "file",
}

const nanos = (d: Duration.DurationInput) => Duration.toMillis(d) * 1_000_000

const encode = Schema.encodeSync(Event.Event)
const decode = Schema.decodeUnknownEither(Schema.parseJson(Event.Event))
const bytes = new TextEncoder()

/** The subject of an event: per tenant and conversation, each id escaped into one token. */
export const subjectOf = (prefix: string, event: Pick<Event.Event, "tenantId" | "conversationId">): string =>
  `${prefix}.events.${encodeToken(event.tenantId)}.${encodeToken(event.conversationId)}`

const isApiError = (error: unknown, code: number) => error instanceof JetStreamApiError && error.code === code

/** The stream, created when missing; its subjects are widened to ours when it exists without them. */
const ensureStream = (options: Options) =>
  Effect.gen(function* () {
    const { manager } = yield* NatsClient
    const subjects = `${options.subjectPrefix}.events.>`
    const config = {
      name: options.stream,
      subjects: [subjects],
      storage: options.storage === "memory" ? StorageType.Memory : StorageType.File,
      max_age: nanos(options.maxAge),
      duplicate_window: nanos(options.duplicateWindow),
    }
    return yield* Effect.tryPromise({
      try: async (): Promise<StreamInfo> => {
        for (let attempt = 0; ; attempt++) {
          try {
            const info = await manager.streams.info(options.stream)
            if (info.config.subjects?.includes(subjects)) return info
            return await manager.streams.update(options.stream, {
              subjects: [...(info.config.subjects ?? []), subjects],
            })
          } catch (error) {
            if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error
          }
          try {
            return await manager.streams.add(config)
          } catch (error) {
            // Another node created it in between: read it again.
            if (attempt >= 2) throw error
          }
        }
      },
      catch: unavailable(`create or read the JetStream stream ${options.stream} (subjects ${subjects})`),
    })
  })

/**
 * Fanout over NATS JetStream. `publish` sends each event to its tenant and conversation's subject with
 * `Nats-Msg-Id` = event id, pipelined, and succeeds when the stream has acknowledged all of them (a relay
 * that retries is deduplicated by the server). Each node runs one ordered consumer that starts right
 * after the stream's last message at start-up and feeds a local PubSub; `subscribe` reads from that, so a
 * subscriber sees every event published after it subscribed, in stream order.
 */
export const make = (options: Options = defaults) =>
  Effect.gen(function* () {
    if (!validPrefix(options.subjectPrefix))
      return yield* unavailable("configure the fanout")(
        new Error(`the subject prefix ${JSON.stringify(options.subjectPrefix)} must be dot-separated tokens`),
      )
    const client = yield* NatsClient
    const info = yield* ensureStream(options)
    const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<Event.Event>(), PubSub.shutdown)
    const filter = `${options.subjectPrefix}.events.>`
    let nextSequence = info.state.last_seq + 1

    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const receive = (message: JsMsg) => {
      nextSequence = message.seq + 1
      const event = decode(message.string())
      if (Either.isRight(event)) pubsub.unsafeOffer(event.right)
      else
        runFork(
          Effect.logWarning(
            `NATS fanout: dropped message ${message.seq} on ${message.subject}: not an event`,
            event.left.message,
          ),
        )
    }
    const open = Effect.tryPromise({
      try: async () => {
        const consumer = await client.jetstream.consumers.get(options.stream, {
          // One subject filter (not a list) works with servers before 2.10 too.
          filter_subjects: filter,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: nextSequence,
        })
        return consumer.consume({ callback: receive })
      },
      catch: unavailable(`start an ordered consumer on the JetStream stream ${options.stream}`),
    })
    /** Runs until the consumer stops; interrupting it stops the consumer. */
    const run = (messages: ConsumerMessages) =>
      Effect.async<void, Fanout.FanoutUnavailable>((resume) => {
        messages.closed().then(
          (error) =>
            resume(
              error
                ? Effect.fail(unavailable(`consume the JetStream stream ${options.stream}`)(error))
                : Effect.void,
            ),
          (error) =>
            resume(Effect.fail(unavailable(`consume the JetStream stream ${options.stream}`)(error))),
        )
        return Effect.promise(() => messages.close().then(() => undefined))
      })
    // The first consumer starts with the layer, so a misconfiguration fails start-up. The ordered
    // consumer recreates itself after gaps and reconnects; should it stop anyway, start over from the
    // message after the last one seen, so nothing is skipped.
    const first = yield* open
    const again = Effect.sleep("1 second").pipe(Effect.zipRight(open), Effect.flatMap(run))
    const report = (cause: Cause.Cause<unknown>) =>
      Effect.logWarning(
        `NATS fanout: the consumer of ${options.stream} stopped; restarting: ${Cause.squash(cause)}`,
      )
    yield* run(first).pipe(
      Effect.catchAllCause(report),
      Effect.zipRight(again.pipe(Effect.catchAllCause(report), Effect.forever)),
      Effect.forkScoped,
    )

    return Fanout.Fanout.of({
      publish: (events) =>
        events.length === 0
          ? // Nothing to send: check the connection (used by the readiness probe).
            Effect.tryPromise({
              try: () => client.connection.flush(),
              catch: unavailable(`reach NATS at ${client.servers}`),
            }).pipe(
              Effect.timeoutFail({
                duration: "2 seconds",
                onTimeout: () =>
                  unavailable(`reach NATS at ${client.servers}`)(new Error("no answer in 2 s")),
              }),
            )
          : Effect.tryPromise({
              try: () =>
                Promise.all(
                  events.map((event) =>
                    client.jetstream.publish(
                      subjectOf(options.subjectPrefix, event),
                      bytes.encode(JSON.stringify(encode(event))),
                      { msgID: event.id },
                    ),
                  ),
                ),
              catch: unavailable(
                `publish ${events.length} event(s) to the JetStream stream ${options.stream}`,
              ),
            }).pipe(
              Effect.asVoid,
              Effect.withSpan("Fanout.publish", { attributes: { count: events.length } }),
            ),
      subscribe: PubSub.subscribe(pubsub),
    })
  })

export const layer = (
  options: Options = defaults,
): Layer.Layer<Fanout.Fanout, Fanout.FanoutUnavailable, NatsClient> =>
  Layer.scoped(Fanout.Fanout, make(options))
