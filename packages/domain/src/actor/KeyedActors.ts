import {
  Cause,
  Clock,
  Duration,
  Effect,
  type Either,
  Exit,
  Fiber,
  FiberRef,
  Runtime,
  RuntimeFlags,
  Schedule,
  type Scope,
} from "effect"

/**
 * Keyed single-writer actors: one mailbox per key, drained by at most one fiber at a time, forgotten
 * after `idleTimeToLive` without callers.
 *
 * The drain hands everything that queued up (up to `maxBatch`) to `handleBatch` at once: that is what
 * lets the conversation actor commit many commands in one transaction (group commit). A full mailbox
 * keeps further callers waiting outside it (back-pressure): they join it, in order, as room frees up.
 *
 * This is the hottest path of the engine, so it is built from the cheapest parts Effect offers: a caller
 * is one `Effect.async` (no Deferred, no Queue, no scope, no canceler per call), the mailbox is a plain
 * array, and a drain fiber exists only while there is work, so an idle actor costs one small map entry.
 */
export interface KeyedActors<Req, A, E> {
  /** Sends a request to the actor of `key` and waits for its answer. */
  readonly ask: (key: string, request: Req) => Effect.Effect<A, E>
  /** Keys whose actors are alive now. */
  readonly active: Effect.Effect<ReadonlyArray<string>>
}

export interface KeyedActorsOptions<Req, A, E, R> {
  /** Names the actors in logs. */
  readonly name: string
  readonly idleTimeToLive: Duration.DurationInput
  readonly mailboxCapacity: number
  readonly maxBatch: number
  /**
   * Handles a batch in arrival order and answers each request, in the same order. Failing as a whole
   * fails every request of the batch. Requests must be idempotent: after a defect, the batch is retried
   * one request at a time so that only the request that causes it fails.
   */
  readonly handleBatch: (
    key: string,
    requests: ReadonlyArray<Req>,
  ) => Effect.Effect<ReadonlyArray<Either.Either<A, E>>, E, R>
}

interface Envelope<Req, A, E> {
  readonly request: Req
  readonly resume: (answer: Effect.Effect<A, E>) => void
  /** The caller's fiber, when it waits interruptibly: interrupting it is how a caller stops waiting. */
  readonly caller: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

/**
 * Whether the caller stopped waiting: its fiber was interrupted while it waited interruptibly. The runtime
 * has then resumed it with the interruption already, so no answer is owed, and its request is never
 * handled.
 */
const gaveUp = <Req, A, E>(envelope: Envelope<Req, A, E>) =>
  envelope.caller !== undefined && !Cause.isEmpty(envelope.caller.getFiberRef(FiberRef.interruptedCause))

interface Entry<Req, A, E> {
  /** Requests waiting for the next batch, at most `mailboxCapacity`. */
  readonly mailbox: Array<Envelope<Req, A, E>>
  /** Callers waiting for room in the mailbox, in arrival order. */
  readonly waiting: Array<Envelope<Req, A, E>>
  /** The batch being handled now, answered by whoever ends it (the drain, or the scope's close). */
  inFlight: ReadonlyArray<Envelope<Req, A, E>>
  /** Callers waiting for an answer: an actor with callers is never forgotten. */
  callers: number
  lastActive: number
  /** A drain is under way (it may have run to its end before its fiber was known). */
  draining: boolean
  drain: Fiber.RuntimeFiber<void, never> | undefined
}

export const make = <Req, A, E, R>(
  options: KeyedActorsOptions<Req, A, E, R>,
): Effect.Effect<KeyedActors<Req, A, E>, never, Scope.Scope | R> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<R>()
    const runFork = Runtime.runFork(runtime)
    const entries = new Map<string, Entry<Req, A, E>>()
    const idleMs = Duration.toMillis(options.idleTimeToLive)
    const capacity = Math.max(1, options.mailboxCapacity)
    const maxBatch = Math.max(1, options.maxBatch)
    let closed = false

    /** Answers one caller, exactly once: a caller that is answered is no longer waiting. */
    const settle = (entry: Entry<Req, A, E>, envelope: Envelope<Req, A, E>, answer: Effect.Effect<A, E>) => {
      entry.callers--
      envelope.resume(answer)
    }

    const answerAll = (
      entry: Entry<Req, A, E>,
      batch: ReadonlyArray<Envelope<Req, A, E>>,
      answer: (envelope: Envelope<Req, A, E>, i: number) => Effect.Effect<A, E>,
    ) =>
      Effect.sync(() => {
        for (let i = 0; i < batch.length; i++) settle(entry, batch[i]!, answer(batch[i]!, i))
      })

    const run = (
      key: string,
      entry: Entry<Req, A, E>,
      batch: ReadonlyArray<Envelope<Req, A, E>>,
    ): Effect.Effect<void, never, R> =>
      options
        .handleBatch(
          key,
          batch.map((e) => e.request),
        )
        .pipe(
          Effect.matchCauseEffect({
            onSuccess: (results) =>
              answerAll(entry, batch, (_, i) => {
                const result = results[i]
                return result === undefined
                  ? Effect.die(
                      new Error(`${options.name}: handleBatch answered ${results.length} of ${batch.length}`),
                    )
                  : result
              }),
            onFailure: (cause) => {
              const failure = Cause.failureOption(cause)
              if (failure._tag === "Some" && !Cause.isDie(cause))
                return answerAll(entry, batch, () => Exit.fail(failure.value))
              if (Cause.isInterruptedOnly(cause)) return answerAll(entry, batch, () => Effect.interrupt)
              return Effect.logError(`${options.name} ${key}: defect, restarting`, cause).pipe(
                Effect.zipRight(
                  batch.length > 1
                    ? Effect.forEach(batch, (e) => run(key, entry, [e]), { discard: true })
                    : answerAll(entry, batch, () => Exit.failCause(cause as Cause.Cause<E>)),
                ),
              )
            },
          }),
        )

    /** Moves up to `maxBatch` live requests out of the mailbox, and lets waiting callers in behind them. */
    const takeBatch = (entry: Entry<Req, A, E>): Array<Envelope<Req, A, E>> => {
      const batch: Array<Envelope<Req, A, E>> = []
      while (batch.length < maxBatch && entry.mailbox.length > 0) {
        const taken = entry.mailbox.splice(0, maxBatch - batch.length)
        for (const envelope of taken) {
          if (gaveUp(envelope)) entry.callers--
          else batch.push(envelope)
        }
        admit(entry)
      }
      return batch
    }

    const admit = (entry: Entry<Req, A, E>) => {
      while (entry.mailbox.length < capacity && entry.waiting.length > 0)
        entry.mailbox.push(entry.waiting.shift()!)
    }

    /** Handles batches until the mailbox is empty, then ends: the next request starts a new drain. */
    const drain = (key: string, entry: Entry<Req, A, E>): Effect.Effect<void, never, R> =>
      Effect.suspend(() => {
        const batch = takeBatch(entry)
        if (batch.length === 0) {
          entry.draining = false
          entry.drain = undefined
          entry.inFlight = []
          return Effect.void
        }
        entry.inFlight = batch
        return run(key, entry, batch).pipe(
          Effect.zipRight(Clock.currentTimeMillis),
          Effect.flatMap((now) => {
            entry.lastActive = now
            return drain(key, entry)
          }),
        )
      })

    const entryOf = (key: string): Entry<Req, A, E> => {
      let entry = entries.get(key)
      if (entry === undefined) {
        entry = {
          mailbox: [],
          waiting: [],
          inFlight: [],
          callers: 0,
          lastActive: 0,
          draining: false,
          drain: undefined,
        }
        entries.set(key, entry)
      }
      return entry
    }

    /**
     * No canceler is registered: the interruption wrapper `Effect.async` puts around one cost about as
     * much as the rest of a call. A caller that gives up is found out when its request would join a batch
     * (`gaveUp`), and dropped there.
     */
    const ask = (key: string, request: Req): Effect.Effect<A, E> =>
      Effect.withFiberRuntime<A, E>((callerFiber, status) =>
        Effect.async<A, E>((resume) => {
          if (closed) return resume(Effect.interrupt)
          const entry = entryOf(key)
          const envelope: Envelope<Req, A, E> = {
            request,
            resume,
            caller: RuntimeFlags.interruptible(status.runtimeFlags) ? callerFiber : undefined,
          }
          entry.callers++
          if (entry.mailbox.length < capacity && entry.waiting.length === 0) entry.mailbox.push(envelope)
          else entry.waiting.push(envelope)
          if (!entry.draining) {
            entry.draining = true
            // Not the caller's fiber: the drain must outlive any one caller, and a caller's interruption
            // must not reach the other requests of its batch. It yields first, so that whatever else
            // arrives in this turn of the event loop joins the same batch.
            const fiber = runFork(Effect.zipRight(Effect.yieldNow(), drain(key, entry)))
            if (entry.draining) entry.drain = fiber
          }
        }),
      )

    /** Forgets the actors nobody has called for `idleTimeToLive`; checked a few times per idle period. */
    const passivate = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        for (const [key, entry] of entries)
          if (
            entry.callers === 0 &&
            !entry.draining &&
            entry.mailbox.length === 0 &&
            entry.waiting.length === 0 &&
            now - entry.lastActive >= idleMs
          )
            entries.delete(key)
      }),
    )
    yield* passivate.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, Math.floor(idleMs / 4))))),
      Effect.forkScoped,
    )
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closed = true
        const all = [...entries.values()]
        yield* Fiber.interruptAll(all.flatMap((entry) => (entry.drain === undefined ? [] : [entry.drain])))
        // A caller that gave up was answered by the runtime already, which ignores this second answer.
        for (const entry of all)
          for (const envelope of [...entry.inFlight, ...entry.mailbox, ...entry.waiting])
            envelope.resume(Effect.interrupt)
        entries.clear()
      }),
    )

    return { ask, active: Effect.sync(() => [...entries.keys()]) }
  })
