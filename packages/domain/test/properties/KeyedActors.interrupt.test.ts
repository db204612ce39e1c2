import { KeyedActors } from "@chat4all/domain"
import { Effect, Either, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { propertyRuns } from "./runs.js"

/**
 * Callers that give up: random asks over a few keys, some of them interrupted after a random number of
 * scheduler turns, some waiting uninterruptibly, against a handler that takes a random number of turns per
 * batch. Whatever the interleaving, every caller that is still waiting gets its own answer, nothing is
 * handled twice or out of order, and nobody hangs.
 */

interface Op {
  readonly key: string
  readonly gap: number
  readonly interruptAfter: number | undefined
  readonly uninterruptible: boolean
}

const op: fc.Arbitrary<Op> = fc.record({
  key: fc.constantFrom("a", "b", "c"),
  /** Scheduler turns before this caller asks, after the previous one did. */
  gap: fc.integer({ min: 0, max: 3 }),
  /** Turns after asking at which the caller is interrupted, if it is. */
  interruptAfter: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
  uninterruptible: fc.boolean(),
})

interface Handled {
  readonly key: string
  readonly items: ReadonlyArray<number>
  /** When the batch began, on the run's own clock of events. */
  readonly at: number
}

const run = (
  ops: ReadonlyArray<Op>,
  options: { readonly maxBatch: number; readonly capacity: number; readonly turns: number },
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const batches: Array<Handled> = []
      // Orders batch starts and callers giving up against each other.
      let clock = 0
      const gaveUpAt = new Map<number, number>()
      const actors = yield* KeyedActors.make<number, number, never, never>({
        name: "property",
        idleTimeToLive: "1 minute",
        mailboxCapacity: options.capacity,
        maxBatch: options.maxBatch,
        handleBatch: (key, items) =>
          Effect.as(
            Effect.zipRight(
              Effect.sync(() => batches.push({ key, items, at: clock++ })),
              Effect.repeatN(Effect.yieldNow(), options.turns),
            ),
            items.map((n) => Either.right(n * 10)),
          ),
      })
      const answered = new Map<number, number>()
      const callers: Array<Fiber.RuntimeFiber<void, never>> = []
      const interrupters: Array<Fiber.RuntimeFiber<void, never>> = []
      for (const [i, o] of ops.entries()) {
        yield* Effect.repeatN(Effect.yieldNow(), o.gap)
        const ask = Effect.flatMap(actors.ask(o.key, i), (n) =>
          Effect.sync(() => {
            answered.set(i, n)
          }),
        ).pipe(
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              gaveUpAt.set(i, clock++)
            }),
          ),
        )
        const caller = yield* Effect.fork(o.uninterruptible ? Effect.uninterruptible(ask) : ask)
        callers.push(caller)
        if (o.interruptAfter !== undefined)
          interrupters.push(
            yield* Effect.fork(
              Effect.zipRight(
                Effect.repeatN(Effect.yieldNow(), o.interruptAfter),
                Fiber.interruptFork(caller),
              ),
            ),
          )
      }
      const exits = yield* Effect.forEach(callers, Fiber.await)
      yield* Effect.forEach(interrupters, Fiber.join)
      return { batches, answered, exits, gaveUpAt }
    }),
  )

describe("KeyedActors with callers that give up", () => {
  it(`answers every waiting caller, handles nothing twice or out of order, never hangs (${propertyRuns} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        async (ops, maxBatch, capacity, turns) => {
          const { batches, answered, exits, gaveUpAt } = await Effect.runPromise(
            run(ops, { maxBatch, capacity, turns }).pipe(Effect.timeout("10 seconds")),
          )
          const handled = batches.flatMap((b) => b.items)
          // Nothing twice, nothing that was not asked, and each batch holds requests of its own key only.
          expect(new Set(handled).size).toBe(handled.length)
          for (const b of batches) {
            expect(b.items.length).toBeLessThanOrEqual(maxBatch)
            for (const i of b.items) expect(ops[i]!.key).toBe(b.key)
          }
          // Per key, in the order the callers asked.
          for (const key of ["a", "b", "c"]) {
            const order = batches.filter((b) => b.key === key).flatMap((b) => b.items)
            expect(order).toEqual([...order].sort((x, y) => x - y))
          }
          ops.forEach((o, i) => {
            const exit = exits[i]!
            if (o.interruptAfter === undefined || o.uninterruptible) {
              // Never given up: handled once and answered with its own answer (an uninterruptible caller
              // still ends interrupted, once its answer is in).
              expect(handled).toContain(i)
              expect(answered.get(i)).toBe(i * 10)
              if (o.interruptAfter === undefined) expect(Exit.isSuccess(exit)).toBe(true)
            } else if (Exit.isSuccess(exit)) {
              expect(answered.get(i)).toBe(i * 10)
              expect(handled).toContain(i)
            } else {
              // Gave up: never answered, and handled only by a batch that began before it gave up.
              expect(Exit.isInterrupted(exit)).toBe(true)
              expect(answered.has(i)).toBe(false)
              const batch = batches.find((b) => b.items.includes(i))
              if (batch !== undefined) expect(batch.at).toBeLessThan(gaveUpAt.get(i)!)
            }
          })
        },
      ),
      { numRuns: propertyRuns },
    )
  })
})
