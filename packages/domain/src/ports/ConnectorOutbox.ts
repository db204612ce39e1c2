import { Context, type Effect } from "effect"
import type { StoreUnavailable } from "../model/Errors.js"
import type { TenantId } from "../model/Ids.js"
import type { Message } from "../model/Message.js"
import type { Settlement } from "../rules/ConnectorRetry.js"
import type { PlannedDelivery } from "../rules/Routing.js"

/** A tenant's stretch of the event log leased to one router: the messages committed in it. */
export interface RouteClaim {
  readonly tenantId: TenantId
  /** Fences the lease: `commitRoute` moves the cursor only while no one has claimed the tenant since. */
  readonly token: number
  /** The log position the stretch ends at; the cursor moves there on `commitRoute`. */
  readonly upto: number
  /** The messages created in the stretch, in log order, as committed. */
  readonly messages: ReadonlyArray<Message>
}

/** A send leased to one worker. */
export interface ClaimedSend {
  /** The store's handle on the delivery, for `settle`. */
  readonly ref: string
  /** Fences the lease: `settle` moves the delivery only while no one has claimed it since. */
  readonly token: number
  readonly tenantId: TenantId
  readonly delivery: PlannedDelivery
  /** Failed attempts so far. */
  readonly failures: number
}

/**
 * The outbox of connector sends, fed from the committed event log like webhook deliveries are (the
 * `Outbox` belongs to the fanout relay, which deletes its entries once published).
 *
 * - Routing: per tenant that has connectors, a cursor over its event log. `claimRoutes` leases the
 *   stretch after the cursor to one router (`FOR UPDATE SKIP LOCKED` and a lease, so nodes share the
 *   tenants); the router plans the messages in it and `commitRoute` inserts the planned sends and moves
 *   the cursor in one atomic step, fenced by the claim. A router that dies before that step has done
 *   nothing the next one will not redo; sends are unique per (message, recipient, channel), so a stretch
 *   routed twice still makes each send once.
 * - Sending: `claim` leases due sends the same way (any number of workers on any number of nodes take
 *   disjoint ones, and a dead worker's sends come back when its lease lapses); `settle` moves a send on.
 */
export class ConnectorOutbox extends Context.Tag("@chat4all/domain/ConnectorOutbox")<
  ConnectorOutbox,
  {
    /** Routes the tenant's messages committed from now on (the cursor starts at the log's head); idempotent. */
    readonly follow: (tenantId: TenantId) => Effect.Effect<void, StoreUnavailable>
    /** Leases the unrouted stretches of at most `tenants` tenants, at most `events` log positions each. */
    readonly claimRoutes: (options: {
      readonly tenants: number
      readonly events: number
      readonly leaseMs: number
    }) => Effect.Effect<ReadonlyArray<RouteClaim>, StoreUnavailable>
    /**
     * Inserts the sends planned for a claimed stretch (one per message, recipient and channel; a send that
     * exists is left alone) and moves the cursor past it, atomically. False, with nothing done, when the
     * claim's lease was lost to another router.
     */
    readonly commitRoute: (
      claim: Pick<RouteClaim, "tenantId" | "token" | "upto">,
      deliveries: ReadonlyArray<PlannedDelivery>,
    ) => Effect.Effect<boolean, StoreUnavailable>
    /** Leases at most `limit` pending sends that are due, the longest due first. */
    readonly claim: (options: {
      readonly limit: number
      readonly leaseMs: number
    }) => Effect.Effect<ReadonlyArray<ClaimedSend>, StoreUnavailable>
    /** Moves a claimed send as `settlement` says, if its lease still holds; true when it moved. */
    readonly settle: (
      claimed: Pick<ClaimedSend, "ref" | "token">,
      settlement: Settlement,
    ) => Effect.Effect<boolean, StoreUnavailable>
    /** Pending sends of every tenant and the earliest due time among them, for queue stats. */
    readonly depth: Effect.Effect<
      { readonly count: number; readonly oldestAt: number | undefined },
      StoreUnavailable
    >
  }
>() {}
