import {
  type ChannelIdentity,
  type Conversation,
  type Delivery,
  Event,
  type Ids,
  type Message,
} from "@chat4all/domain"
import { Context, Effect, Layer } from "effect"

/** Everything one tenant holds. Plain maps: memory adapters run on one thread, so each call is atomic. */
export class TenantState {
  readonly conversations = new Map<Ids.ConversationId, Conversation.Conversation>()
  readonly directPairs = new Map<string, Ids.ConversationId>()
  /** Per conversation, messages by seq - 1 (seq is gapless). */
  readonly messages = new Map<Ids.ConversationId, Array<Message.Message>>()
  readonly messagesById = new Map<Ids.MessageId, Message.Message>()
  /** `conversationId \0 ConversationDecider.idempotencyKey` */
  readonly messagesByKey = new Map<string, Message.Message>()
  /** Per message, its connector delivery records by `ConversationDecider.deliveryKey`. */
  readonly deliveries = new Map<Ids.MessageId, Map<string, Delivery.DeliveryRecord>>()
  readonly history = new Map<Ids.MessageId, Array<Delivery.StatusTransition>>()
  /** The event log: position n is `events[n - 1]`. */
  readonly events: Array<Event.Event> = []
  /** userId -> channel -> identity */
  readonly identities = new Map<Ids.UserId, Map<string, ChannelIdentity.ChannelIdentity>>()
}

export interface OutboxRow {
  readonly id: string
  readonly event: Event.Event
  attempts: number
  availableAt: number
  leasedUntil: number
}

/** The shared state behind every memory storage port, so that one commit is seen by all of them. */
export class MemoryState extends Context.Tag("@chat4all/adapters/memory/MemoryState")<
  MemoryState,
  {
    readonly tenant: (tenantId: Ids.TenantId) => TenantState
    readonly outbox: Map<string, OutboxRow>
    /** Writes events to the tenant's log and the outbox, as the commit that made them. */
    readonly append: (tenant: TenantState, events: ReadonlyArray<Event.Event>) => void
  }
>() {
  static readonly layer = Layer.effect(
    MemoryState,
    Effect.sync(() => {
      const tenants = new Map<Ids.TenantId, TenantState>()
      const outbox = new Map<string, OutboxRow>()
      let nextOutboxId = 0
      return {
        tenant: (tenantId) => {
          let state = tenants.get(tenantId)
          if (state === undefined) {
            state = new TenantState()
            tenants.set(tenantId, state)
          }
          return state
        },
        outbox,
        append: (tenant, events) => {
          for (const fresh of events) {
            // Read back with its place in the log, as a database adapter's rows would be.
            const event = Event.withPosition(fresh, tenant.events.length + 1)
            tenant.events.push(event)
            const id = String(++nextOutboxId)
            outbox.set(id, { id, event, attempts: 0, availableAt: 0, leasedUntil: 0 })
          }
        },
      }
    }),
  )
}
