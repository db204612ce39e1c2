import { type Event, type Ids, Webhook, WebhookRetry, WebhookStore } from "@chat4all/domain"
import { Clock, Effect, Layer, Option, Redacted } from "effect"
import { MemoryState } from "./MemoryState.js"

interface EndpointEntry {
  endpoint: Webhook.WebhookEndpoint
  /** The log position the endpoint was created at: it receives the events after it. */
  readonly fromPosition: number
}

interface DeliveryRow {
  readonly ref: string
  readonly tenantId: Ids.TenantId
  readonly webhookId: Webhook.WebhookId
  readonly event: Event.Event
  readonly position: number
  status: Webhook.DeliveryStatus
  readonly attempts: Array<Webhook.WebhookAttempt>
  failures: number
  token: number
  nextAttemptAt: number
  leaseUntil: number
  readonly createdAt: number
  updatedAt: number
}

interface TenantHooks {
  readonly endpoints: Map<Webhook.WebhookId, EndpointEntry>
  /** The webhooks consumer's position in the tenant's event log. */
  cursor: number
  /** By `webhookId \0 eventId`. */
  readonly deliveries: Map<string, DeliveryRow>
}

const keyOf = (webhookId: string, eventId: string) => `${webhookId}\u0000${eventId}`

const toDelivery = (row: DeliveryRow): Webhook.WebhookDelivery =>
  new Webhook.WebhookDelivery(
    {
      id: row.event.id,
      tenantId: row.tenantId,
      webhookId: row.webhookId,
      eventType: row.event.type,
      status: row.status,
      attempts: [...row.attempts],
      ...(row.status === "pending" ? { nextAttemptAt: row.nextAttemptAt } : {}),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    },
    { disableValidation: true },
  )

/**
 * The WebhookStore in memory, over the event log of `MemoryState` (the same one the memory
 * ConversationStore commits to). Plain maps: memory adapters run on one thread, so each call is atomic,
 * which is what `route` and `settle` need.
 */
export const make = Effect.gen(function* () {
  const state = yield* MemoryState
  const tenants = new Map<Ids.TenantId, TenantHooks>()
  const byRef = new Map<string, DeliveryRow>()
  let nextRef = 0
  let rotation = 0

  const hooksOf = (tenantId: Ids.TenantId): TenantHooks => {
    let hooks = tenants.get(tenantId)
    if (hooks === undefined) {
      hooks = { endpoints: new Map(), cursor: state.tenant(tenantId).events.length, deliveries: new Map() }
      tenants.set(tenantId, hooks)
    }
    return hooks
  }

  const removeRow = (hooks: TenantHooks, row: DeliveryRow) => {
    hooks.deliveries.delete(keyOf(row.webhookId, row.event.id))
    byRef.delete(row.ref)
  }

  return WebhookStore.WebhookStore.of({
    create: (endpoint) =>
      Effect.suspend(() => {
        const hooks = hooksOf(endpoint.tenantId)
        if (hooks.endpoints.has(endpoint.id))
          return Effect.dieMessage(`webhook ${endpoint.id} already exists`)
        hooks.endpoints.set(endpoint.id, {
          endpoint,
          fromPosition: state.tenant(endpoint.tenantId).events.length,
        })
        return Effect.void
      }),

    get: (tenantId, webhookId) =>
      Effect.sync(() => Option.fromNullable(tenants.get(tenantId)?.endpoints.get(webhookId)?.endpoint)),

    list: (tenantId, { limit, cursor }) =>
      Effect.sync(() => {
        const all = [...(tenants.get(tenantId)?.endpoints.values() ?? [])]
          .map((e) => e.endpoint)
          .filter((e) => cursor === undefined || e.id < cursor)
          .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
        const items = all.slice(0, limit)
        return { items, nextCursor: all.length > limit ? items[items.length - 1]?.id : undefined }
      }),

    remove: (tenantId, webhookId) =>
      Effect.sync(() => {
        const hooks = tenants.get(tenantId)
        if (hooks === undefined || !hooks.endpoints.delete(webhookId)) return false
        for (const row of [...hooks.deliveries.values()])
          if (row.webhookId === webhookId) removeRow(hooks, row)
        return true
      }),

    rotateSecret: (tenantId, webhookId, { secret, previousExpiresAt, at }) =>
      Effect.sync(() => {
        const entry = tenants.get(tenantId)?.endpoints.get(webhookId)
        if (entry === undefined) return Option.none()
        entry.endpoint = new Webhook.WebhookEndpoint({
          ...entry.endpoint,
          secret: Redacted.make(secret),
          previousSecret: entry.endpoint.secret,
          previousSecretExpiresAt: previousExpiresAt,
          updatedAt: at,
        })
        return Option.some(entry.endpoint)
      }),

    route: ({ tenants: maxTenants, events: maxEvents }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        let advanced = 0
        let made = 0
        // A different tenant first on each call, so that busy tenants cannot keep the others waiting.
        const order = [...tenants]
        const start = order.length === 0 ? 0 : rotation++ % order.length
        for (const [tenantId, hooks] of [...order.slice(start), ...order.slice(0, start)]) {
          if (advanced >= maxTenants) break
          const log = state.tenant(tenantId).events
          if (hooks.cursor >= log.length) continue
          const upto = Math.min(log.length, hooks.cursor + maxEvents)
          for (let position = hooks.cursor + 1; position <= upto; position++) {
            const event = log[position - 1]!
            for (const { endpoint, fromPosition } of hooks.endpoints.values()) {
              if (endpoint.status !== "active" || position <= fromPosition) continue
              if (!WebhookRetry.matches(endpoint.events, event.type)) continue
              const key = keyOf(endpoint.id, event.id)
              if (hooks.deliveries.has(key)) continue
              const row: DeliveryRow = {
                ref: String(++nextRef),
                tenantId,
                webhookId: endpoint.id,
                event,
                position,
                status: "pending",
                attempts: [],
                failures: 0,
                token: 0,
                nextAttemptAt: now,
                leaseUntil: 0,
                createdAt: now,
                updatedAt: now,
              }
              hooks.deliveries.set(key, row)
              byRef.set(row.ref, row)
              made++
            }
          }
          hooks.cursor = upto
          advanced++
        }
        return { advanced, deliveries: made }
      }),

    claim: ({ limit, leaseMs, perEndpoint, skip }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const skipped = new Set((skip ?? []).map((e) => `${e.tenantId}\u0000${e.webhookId}`))
        const cap = perEndpoint ?? Number.POSITIVE_INFINITY
        const due = [...byRef.values()]
          .filter(
            (row) =>
              row.status === "pending" &&
              row.nextAttemptAt <= now &&
              row.leaseUntil <= now &&
              !skipped.has(`${row.tenantId}\u0000${row.webhookId}`),
          )
          .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || Number(a.ref) - Number(b.ref))
        const taken = new Map<string, number>()
        const claimed: Array<WebhookStore.ClaimedDelivery> = []
        for (const row of due) {
          if (claimed.length >= limit) break
          const key = `${row.tenantId}\u0000${row.webhookId}`
          const count = taken.get(key) ?? 0
          const entry = tenants.get(row.tenantId)?.endpoints.get(row.webhookId)
          if (count >= cap || entry === undefined) continue
          taken.set(key, count + 1)
          row.leaseUntil = now + Math.max(0, leaseMs)
          row.token++
          claimed.push({
            ref: row.ref,
            token: row.token,
            delivery: { id: row.event.id, tenantId: row.tenantId, webhookId: row.webhookId },
            failures: row.failures,
            endpoint: entry.endpoint,
            event: row.event,
          })
        }
        return claimed
      }),

    settle: (claimed, attempt, settlement) =>
      Effect.sync(() => {
        const row = byRef.get(claimed.ref)
        if (row === undefined) return false
        row.attempts.push(attempt)
        const hooks = tenants.get(row.tenantId)!
        if (settlement.status === "failed" && settlement.disable !== undefined) {
          const entry = hooks.endpoints.get(row.webhookId)
          if (entry !== undefined && entry.endpoint.status === "active") {
            entry.endpoint = new Webhook.WebhookEndpoint({
              ...entry.endpoint,
              status: "disabled",
              disabledReason: settlement.disable.reason,
              updatedAt: attempt.at,
            })
            for (const other of hooks.deliveries.values())
              if (other.webhookId === row.webhookId && other.status === "pending" && other !== row) {
                other.status = "failed"
                other.updatedAt = attempt.at
              }
          }
        }
        if (row.token !== claimed.token || row.status !== "pending") {
          row.updatedAt = Math.max(row.updatedAt, attempt.at)
          return false
        }
        row.status = settlement.status
        row.failures = settlement.failures
        row.leaseUntil = 0
        if (settlement.status === "pending") row.nextAttemptAt = settlement.nextAttemptAt
        row.updatedAt = attempt.at + attempt.durationMs
        return true
      }),

    deliveries: (tenantId, webhookId, { limit, status, cursor }) =>
      Effect.sync(() => {
        const rows = [...(tenants.get(tenantId)?.deliveries.values() ?? [])]
          .filter(
            (row) =>
              row.webhookId === webhookId &&
              (status === undefined || row.status === status) &&
              (cursor === undefined || row.position < cursor),
          )
          .sort((a, b) => b.position - a.position)
        const page = rows.slice(0, limit)
        const last = page[page.length - 1]
        return {
          items: page.map(toDelivery),
          nextCursor: rows.length > limit && last !== undefined ? String(last.position) : undefined,
        }
      }),

    delivery: (tenantId, webhookId, deliveryId) =>
      Effect.sync(() =>
        Option.map(
          Option.fromNullable(tenants.get(tenantId)?.deliveries.get(keyOf(webhookId, deliveryId))),
          toDelivery,
        ),
      ),

    retry: (tenantId, webhookId, deliveryId, at) =>
      Effect.sync(() => {
        const row = tenants.get(tenantId)?.deliveries.get(keyOf(webhookId, deliveryId))
        if (row === undefined) return Option.none()
        row.status = "pending"
        row.failures = 0
        row.nextAttemptAt = at
        row.leaseUntil = 0
        // Any worker holding the lease now settles nothing.
        row.token++
        row.updatedAt = at
        return Option.some(toDelivery(row))
      }),

    depth: Effect.sync(() => {
      let count = 0
      let oldestAt: number | undefined
      for (const row of byRef.values())
        if (row.status === "pending") {
          count++
          oldestAt = Math.min(oldestAt ?? row.nextAttemptAt, row.nextAttemptAt)
        }
      return { count, oldestAt }
    }),
  })
})

/** The WebhookStore over the `MemoryState` in context. */
export const layerFromState: Layer.Layer<WebhookStore.WebhookStore, never, MemoryState> = Layer.effect(
  WebhookStore.WebhookStore,
  make,
)

/**
 * The WebhookStore over `MemoryState.layer`. Built in one layer graph with the memory `storageLayer`,
 * which provides the same `MemoryState.layer`, it shares that state (layers are memoized by reference),
 * so it routes the events the memory ConversationStore commits.
 */
export const layer: Layer.Layer<WebhookStore.WebhookStore> = layerFromState.pipe(
  Layer.provide(MemoryState.layer),
)
