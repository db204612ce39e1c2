import { Clock, type Effect } from "effect"

/**
 * The Clock port is Effect's own `Clock` service: a `Context.Tag` like every other port, provided by the
 * runtime in production and by `TestClock` in tests. The domain reads time only through it.
 */
export { Clock }

/** The current time in epoch milliseconds. */
export const now: Effect.Effect<number> = Clock.currentTimeMillis
