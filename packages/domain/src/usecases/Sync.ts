import { Effect } from "effect"
import { clampLimit } from "../model/Page.js"
import { EventLog } from "../ports/EventLog.js"
import type { Caller } from "./Caller.js"

/**
 * Everything that changed for the caller across their conversations since `cursor`. Without a cursor:
 * the current cursor and no events, the place to start from.
 */
export const sync = (
  caller: Caller,
  options: { readonly since?: string | undefined; readonly limit?: number | undefined },
) =>
  Effect.gen(function* () {
    const log = yield* EventLog
    if (options.since === undefined)
      return { events: [], nextCursor: yield* log.head(caller.tenantId), hasMore: false }
    return yield* log.since(caller.tenantId, caller.userId, options.since, clampLimit(options.limit))
  })
