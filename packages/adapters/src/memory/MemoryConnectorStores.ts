import {
  ConnectorConfig,
  ConnectorOutbox,
  type ConnectorRetry,
  ConnectorSettingsStore,
  type Ids,
  type Message,
  ProviderRefs,
  type Routing,
} from "@chat4all/domain"
import { Clock, Effect, Layer, Option } from "effect"
import { MemoryState } from "./MemoryState.js"

/**
 * The connector stores in memory: configurations, provider references, and the connector outbox over
 * the event log of `MemoryState` (the one the memory ConversationStore commits to). Plain maps: memory
 * adapters run on one thread, so each call is atomic, which is what `commitRoute` and `settle` need.
 */

/** The ConnectorSettingsStore in memory. */
export const makeSettings = Effect.sync(() => {
  const byTenant = new Map<Ids.TenantId, Map<string, ConnectorConfig.ConnectorConfig>>()
  return ConnectorSettingsStore.ConnectorSettingsStore.of({
    put: (config) =>
      Effect.sync(() => {
        let configs = byTenant.get(config.tenantId)
        if (configs === undefined) {
          configs = new Map()
          byTenant.set(config.tenantId, configs)
        }
        const current = configs.get(config.connector)
        configs.set(
          config.connector,
          current === undefined
            ? config
            : new ConnectorConfig.ConnectorConfig({ ...config, createdAt: current.createdAt }),
        )
      }),
    get: (tenantId, connector) =>
      Effect.sync(() => Option.fromNullable(byTenant.get(tenantId)?.get(connector))),
    list: (tenantId) =>
      Effect.sync(() =>
        [...(byTenant.get(tenantId)?.values() ?? [])].sort((a, b) =>
          a.connector < b.connector ? -1 : a.connector > b.connector ? 1 : 0,
        ),
      ),
  })
})

/** The ProviderRefs in memory. */
export const makeRefs = Effect.sync(() => {
  const refs = new Map<string, ProviderRefs.ProviderRef>()
  const keyOf = (tenantId: string, connector: string, id: string) =>
    `${tenantId}\u0000${connector}\u0000${id}`
  return ProviderRefs.ProviderRefs.of({
    record: (ref) =>
      Effect.sync(() => {
        const key = keyOf(ref.tenantId, ref.connector, ref.providerMessageId)
        if (refs.has(key)) return false
        refs.set(key, { ...ref })
        return true
      }),
    find: (tenantId, connector, providerMessageId) =>
      Effect.sync(() => Option.fromNullable(refs.get(keyOf(tenantId, connector, providerMessageId)))),
  })
})

interface Cursor {
  position: number
  claims: number
  leaseUntil: number
}

interface SendRow {
  readonly ref: string
  readonly tenantId: Ids.TenantId
  readonly delivery: Routing.PlannedDelivery
  status: "pending" | "succeeded" | "failed"
  failures: number
  claims: number
  nextAttemptAt: number
  leaseUntil: number
  lastError: string | undefined
}

/** The ConnectorOutbox over the `MemoryState` in context. */
export const makeOutbox = Effect.gen(function* () {
  const state = yield* MemoryState
  const cursors = new Map<Ids.TenantId, Cursor>()
  const rows = new Map<string, SendRow>()
  const byKey = new Map<string, SendRow>()
  let nextRef = 0
  const keyOf = (tenantId: string, d: Routing.PlannedDelivery) =>
    `${tenantId}\u0000${d.messageId}\u0000${d.userId}\u0000${d.channel}`

  return ConnectorOutbox.ConnectorOutbox.of({
    follow: (tenantId) =>
      Effect.sync(() => {
        if (!cursors.has(tenantId))
          cursors.set(tenantId, { position: state.tenant(tenantId).events.length, claims: 0, leaseUntil: 0 })
      }),

    claimRoutes: ({ tenants, events, leaseMs }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const claims: Array<ConnectorOutbox.RouteClaim> = []
        const order = [...cursors.keys()].sort()
        for (const tenantId of order) {
          if (claims.length >= tenants) break
          const cursor = cursors.get(tenantId)!
          const log = state.tenant(tenantId).events
          if (log.length <= cursor.position || cursor.leaseUntil > now || events <= 0) continue
          cursor.claims++
          cursor.leaseUntil = now + Math.max(0, leaseMs)
          const upto = Math.min(log.length, cursor.position + events)
          const messages: Array<Message.Message> = []
          for (const event of log.slice(cursor.position, upto))
            if (event.type === "message.created") messages.push(event.data.message)
          claims.push({ tenantId, token: cursor.claims, upto, messages })
        }
        return claims
      }),

    commitRoute: (claim, deliveries) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const cursor = cursors.get(claim.tenantId)
        if (cursor === undefined || cursor.claims !== claim.token || cursor.position >= claim.upto)
          return false
        cursor.position = claim.upto
        cursor.leaseUntil = 0
        for (const delivery of deliveries) {
          const key = keyOf(claim.tenantId, delivery)
          if (byKey.has(key)) continue
          const row: SendRow = {
            ref: String(++nextRef),
            tenantId: claim.tenantId,
            delivery: { ...delivery },
            status: "pending",
            failures: 0,
            claims: 0,
            nextAttemptAt: now,
            leaseUntil: 0,
            lastError: undefined,
          }
          rows.set(row.ref, row)
          byKey.set(key, row)
        }
        return true
      }),

    claim: ({ limit, leaseMs }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const due = [...rows.values()]
          .filter((r) => r.status === "pending" && r.nextAttemptAt <= now && r.leaseUntil <= now)
          .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || Number(a.ref) - Number(b.ref))
          .slice(0, Math.max(0, limit))
        return due.map((row): ConnectorOutbox.ClaimedSend => {
          row.claims++
          row.leaseUntil = now + Math.max(0, leaseMs)
          return {
            ref: row.ref,
            token: row.claims,
            tenantId: row.tenantId,
            delivery: { ...row.delivery },
            failures: row.failures,
          }
        })
      }),

    settle: (claimed, settlement: ConnectorRetry.Settlement) =>
      Effect.sync(() => {
        const row = rows.get(claimed.ref)
        if (row === undefined || row.claims !== claimed.token || row.status !== "pending") return false
        row.status = settlement.status
        row.failures = settlement.failures
        row.leaseUntil = 0
        if (settlement.status === "pending") row.nextAttemptAt = settlement.nextAttemptAt
        row.lastError = settlement.status === "succeeded" ? undefined : settlement.error
        return true
      }),

    depth: Effect.sync(() => {
      let count = 0
      let oldestAt: number | undefined
      for (const row of rows.values())
        if (row.status === "pending") {
          count++
          oldestAt = Math.min(oldestAt ?? row.nextAttemptAt, row.nextAttemptAt)
        }
      return { count, oldestAt }
    }),
  })
})

/** The three connector stores over the `MemoryState` in context. */
export const layerFromState: Layer.Layer<
  ConnectorSettingsStore.ConnectorSettingsStore | ProviderRefs.ProviderRefs | ConnectorOutbox.ConnectorOutbox,
  never,
  MemoryState
> = Layer.mergeAll(
  Layer.effect(ConnectorSettingsStore.ConnectorSettingsStore, makeSettings),
  Layer.effect(ProviderRefs.ProviderRefs, makeRefs),
  Layer.effect(ConnectorOutbox.ConnectorOutbox, makeOutbox),
)

/**
 * The connector stores over `MemoryState.layer`. Built in one layer graph with the memory `storageLayer`,
 * which provides the same `MemoryState.layer`, they share its event log (layers are memoized by
 * reference), so the outbox routes what the memory ConversationStore commits.
 */
export const layer = layerFromState.pipe(Layer.provide(MemoryState.layer))
