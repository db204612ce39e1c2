import { File, FileStore, type Ids } from "@chat4all/domain"
import { Effect, Layer, Option } from "effect"

interface Entry {
  file: File.FileRecord
  /** Conversation ids in the order they were first shared (a Set keeps insertion order). */
  readonly shares: Set<Ids.ConversationId>
}

/** File metadata in memory. Plain maps: memory adapters run on one thread, so each call is atomic. */
export const make = Effect.sync(() => {
  const entries = new Map<string, Entry>()
  const keyOf = (tenantId: Ids.TenantId, fileId: Ids.FileId) => `${tenantId}\u0000${fileId}`
  const replace = (entry: Entry, fields: Partial<File.FileRecord>) => {
    entry.file = new File.FileRecord({ ...entry.file, ...fields }, { disableValidation: true })
    return entry.file
  }
  const uploadingAt = (tenantId: Ids.TenantId, fileId: Ids.FileId, from: number) => {
    const entry = entries.get(keyOf(tenantId, fileId))
    return entry !== undefined && entry.file.status === "uploading" && entry.file.offset === from
      ? entry
      : undefined
  }

  return FileStore.FileStore.of({
    create: (file) =>
      Effect.suspend(() => {
        const key = keyOf(file.tenantId, file.id)
        if (entries.has(key)) return Effect.dieMessage(`file ${file.id} already exists`)
        entries.set(key, { file, shares: new Set() })
        return Effect.void
      }),
    get: (tenantId, fileId) =>
      Effect.sync(() => Option.fromNullable(entries.get(keyOf(tenantId, fileId))?.file)),
    advance: (tenantId, fileId, { from, to, expiresAt }) =>
      Effect.sync(() => {
        const entry = uploadingAt(tenantId, fileId, from)
        if (entry === undefined || to < from || to > entry.file.size) return Option.none()
        return Option.some(replace(entry, { offset: to, expiresAt }))
      }),
    finish: (tenantId, fileId, outcome) =>
      Effect.sync(() => {
        const entry = uploadingAt(tenantId, fileId, outcome.from)
        if (entry === undefined) return Option.none()
        return Option.some(
          outcome.status === "ready"
            ? replace(entry, {
                status: "ready",
                offset: entry.file.size,
                sha256: outcome.sha256,
                expiresAt: null,
              })
            : replace(entry, { status: "failed", offset: entry.file.size, expiresAt: outcome.expiresAt }),
        )
      }),
    remove: (tenantId, fileId) => Effect.sync(() => entries.delete(keyOf(tenantId, fileId))),
    expired: (now, limit) =>
      Effect.sync(() =>
        [...entries.values()]
          .map((e) => e.file)
          .filter((f) => f.status !== "ready" && f.expiresAt !== null && f.expiresAt <= now)
          .sort((a, b) => a.expiresAt! - b.expiresAt! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .slice(0, limit),
      ),
    share: (tenantId, fileId, conversationId) =>
      Effect.sync(() => {
        entries.get(keyOf(tenantId, fileId))?.shares.add(conversationId)
      }),
    shares: (tenantId, fileId) =>
      Effect.sync(() => [...(entries.get(keyOf(tenantId, fileId))?.shares ?? [])]),
  })
})

export const layer = Layer.effect(FileStore.FileStore, make)
