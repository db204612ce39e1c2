import { Context, type Effect, type Option } from "effect"
import type { StoreUnavailable } from "../model/Errors.js"
import type { Event } from "../model/Event.js"
import type { EventId, TenantId } from "../model/Ids.js"
import type { Page } from "../model/Page.js"
import type {
  DeliveryStatus,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookId,
  WebhookSecret,
} from "../model/Webhook.js"
import type { Settlement } from "../rules/WebhookRetry.js"

/** An endpoint by its key. */
export interface EndpointRef {
  readonly tenantId: TenantId
  readonly webhookId: WebhookId
}

/** A delivery leased to one worker, with what it needs to send it. */
export interface ClaimedDelivery {
  /** The store's handle on the delivery, for `settle`. */
  readonly ref: string
  /** Fences the lease: `settle` only moves the delivery while no one has claimed (or replayed) it since. */
  readonly token: number
  readonly delivery: {
    readonly id: EventId
    readonly tenantId: TenantId
    readonly webhookId: WebhookId
  }
  /** Failed attempts so far in the current series (a replay starts a new one). */
  readonly failures: number
  readonly endpoint: WebhookEndpoint
  /** The event, as the realtime edge and sync read it back. */
  readonly event: Event
}

/**
 * Webhook endpoints per tenant and their deliveries, with the attempt log.
 *
 * Deliveries come from the committed event log, not from the `Outbox` (whose entries belong to the
 * fanout relay, which deletes them once published). The store keeps a cursor of its own per tenant over
 * the tenant's log: `route` reads the events after it, inserts a delivery for every active endpoint
 * whose filter matches (and which existed when the event was committed), and moves the cursor past them,
 * all in one atomic step, so a crash leaves either nothing done or everything. Positions of the log
 * become visible in order, so the cursor never skips an event that commits late.
 *
 * Deliveries are then claimed under a lease (in PostgreSQL `FOR UPDATE SKIP LOCKED`), so any number of
 * workers on any number of nodes take disjoint ones, and a worker that dies gives its deliveries up when
 * the lease lapses. `settle` records the attempt and moves the delivery on.
 */
export class WebhookStore extends Context.Tag("@chat4all/domain/WebhookStore")<
  WebhookStore,
  {
    /** Registers an endpoint; it receives the events committed after this. Ids are fresh: a clash is a defect. */
    readonly create: (endpoint: WebhookEndpoint) => Effect.Effect<void, StoreUnavailable>
    readonly get: (
      tenantId: TenantId,
      webhookId: WebhookId,
    ) => Effect.Effect<Option.Option<WebhookEndpoint>, StoreUnavailable>
    /** The tenant's endpoints, newest first; `cursor` is the id of the last endpoint of the previous page. */
    readonly list: (
      tenantId: TenantId,
      options: { readonly limit: number; readonly cursor?: WebhookId | undefined },
    ) => Effect.Effect<Page<WebhookEndpoint>, StoreUnavailable>
    /** Removes an endpoint with its deliveries and their attempts; true when there was one. */
    readonly remove: (tenantId: TenantId, webhookId: WebhookId) => Effect.Effect<boolean, StoreUnavailable>
    /** Puts a new secret in place; the current one becomes the previous one, signing until `previousExpiresAt`. */
    readonly rotateSecret: (
      tenantId: TenantId,
      webhookId: WebhookId,
      rotation: { readonly secret: WebhookSecret; readonly previousExpiresAt: number; readonly at: number },
    ) => Effect.Effect<Option.Option<WebhookEndpoint>, StoreUnavailable>

    /**
     * Turns committed events into deliveries for at most `tenants` tenants and `events` events each (see
     * above). Answers how many tenants' cursors moved (more may be waiting when that is the limit) and how
     * many deliveries were made.
     */
    readonly route: (options: {
      readonly tenants: number
      readonly events: number
    }) => Effect.Effect<{ readonly advanced: number; readonly deliveries: number }, StoreUnavailable>
    /**
     * Leases at most `limit` pending deliveries that are due, the longest due first: at most
     * `perEndpoint` of one endpoint (so one slow endpoint cannot take every sender), none of the
     * endpoints in `skip` (those the worker is already busy with). Claimers never share a delivery; one
     * racing another may get fewer than are due, and the rest at its next claim.
     */
    readonly claim: (options: {
      readonly limit: number
      readonly leaseMs: number
      readonly perEndpoint?: number | undefined
      readonly skip?: ReadonlyArray<EndpointRef> | undefined
    }) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, StoreUnavailable>
    /**
     * Records an attempt of a claimed delivery and, when its lease still holds (`token`), moves it as
     * `settlement` says; disabling the endpoint fails its other pending deliveries too. True when the
     * delivery moved; the attempt is logged either way (it was made) unless the delivery is gone.
     */
    readonly settle: (
      claimed: Pick<ClaimedDelivery, "ref" | "token">,
      attempt: WebhookAttempt,
      settlement: Settlement,
    ) => Effect.Effect<boolean, StoreUnavailable>

    /** An endpoint's deliveries, newest event first; `cursor` is a position from the previous page. */
    readonly deliveries: (
      tenantId: TenantId,
      webhookId: WebhookId,
      options: {
        readonly limit: number
        readonly status?: DeliveryStatus | undefined
        readonly cursor?: number | undefined
      },
    ) => Effect.Effect<Page<WebhookDelivery>, StoreUnavailable>
    readonly delivery: (
      tenantId: TenantId,
      webhookId: WebhookId,
      deliveryId: EventId,
    ) => Effect.Effect<Option.Option<WebhookDelivery>, StoreUnavailable>
    /**
     * Replays a delivery: pending again, due at `at`, with a fresh series of attempts and any lease
     * dropped. It keeps its id, so the `webhook-id` of the next attempt is the same.
     */
    readonly retry: (
      tenantId: TenantId,
      webhookId: WebhookId,
      deliveryId: EventId,
      at: number,
    ) => Effect.Effect<Option.Option<WebhookDelivery>, StoreUnavailable>
    /** Pending deliveries of every tenant, and the oldest due time among them, for the admin queue stats. */
    readonly depth: Effect.Effect<
      { readonly count: number; readonly oldestAt: number | undefined },
      StoreUnavailable
    >
  }
>() {}
