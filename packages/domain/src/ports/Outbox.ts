import { Context, type Effect } from "effect"
import type { StoreUnavailable } from "../model/Errors.js"
import type { Event } from "../model/Event.js"

/** An event waiting to be published, leased to one relay at a time. */
export interface OutboxEntry {
  readonly id: string
  readonly event: Event
  readonly attempts: number
}

/**
 * The transactional outbox: `ConversationStore.commit` writes each event here in the same transaction as
 * the change, so a crash between commit and publish loses nothing. Relays claim entries under a lease
 * (in PostgreSQL `FOR UPDATE SKIP LOCKED`), publish them, and complete them; an entry whose lease lapses
 * is claimed again, so delivery is at least once and consumers dedup by event id.
 */
export class Outbox extends Context.Tag("@chat4all/domain/Outbox")<
  Outbox,
  {
    readonly claim: (options: {
      readonly limit: number
      readonly leaseMs: number
    }) => Effect.Effect<ReadonlyArray<OutboxEntry>, StoreUnavailable>
    readonly complete: (ids: ReadonlyArray<string>) => Effect.Effect<void, StoreUnavailable>
    /** Gives an entry back for another attempt no earlier than `retryAt` (epoch ms). */
    readonly release: (id: string, retryAt: number) => Effect.Effect<void, StoreUnavailable>
    /** Entries not yet completed, and the age of the oldest, for the admin queue stats. */
    readonly depth: Effect.Effect<
      { readonly count: number; readonly oldestAt: number | undefined },
      StoreUnavailable
    >
  }
>() {}
