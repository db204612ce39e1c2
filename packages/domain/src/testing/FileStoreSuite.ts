import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { FileRecord } from "../model/File.js"
import type { ConversationId, FileId, TenantId } from "../model/Ids.js"
import { FileStore } from "../ports/FileStore.js"
import * as Fixtures from "./Fixtures.js"

let files = 0
const sha = (digit: string) => digit.repeat(64)

/** An uploading file of `size` bytes, created at `createdAt`, expiring an hour later. */
export const uploadingFile = (
  tenantId: TenantId,
  options: {
    readonly size?: number
    readonly owner?: string
    readonly createdAt?: number
    readonly sha256?: string | null
    readonly conversationId?: string | null
  } = {},
) => {
  const createdAt = options.createdAt ?? 1_700_000_000_000
  return new FileRecord({
    id: `f${Date.now().toString(36)}-${(++files).toString(36)}-${Math.random().toString(36).slice(2, 8)}` as FileId,
    tenantId,
    ownerId: Fixtures.user(options.owner ?? "ann"),
    name: "report final.pdf",
    size: options.size ?? 100,
    mimeType: "application/pdf",
    sha256: options.sha256 === undefined ? null : options.sha256,
    status: "uploading",
    offset: 0,
    conversationId: (options.conversationId ?? null) as ConversationId | null,
    createdAt,
    expiresAt: createdAt + 3_600_000,
  })
}

const conversation = (id: string) => id as ConversationId

/**
 * The FileStore contract: records by tenant, offsets moved only by compare-and-set, uploads finished
 * once, expiry across tenants, and shares.
 */
export const fileStoreSuite = <E>(name: string, store: Layer.Layer<FileStore, E>) =>
  describe(`FileStore contract: ${name}`, () => {
    layer(store, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("creates and reads a file, only in its tenant", () =>
        Effect.gen(function* () {
          const store = yield* FileStore
          const tenant = Fixtures.freshTenant()
          const file = uploadingFile(tenant, { sha256: sha("a"), conversationId: "c1" })
          yield* store.create(file)
          const found = yield* store.get(tenant, file.id)
          assert.isTrue(Option.isSome(found))
          assert.deepStrictEqual(found.pipe(Option.getOrThrow), file)
          assert.isTrue(Option.isNone(yield* store.get(Fixtures.freshTenant(), file.id)))
          assert.isTrue(Option.isNone(yield* store.get(tenant, "nope" as FileId)))
          const bare = uploadingFile(tenant)
          yield* store.create(bare)
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(tenant, bare.id)), bare)
        }),
      )

      it.effect("moves the offset only from where it is, never past the size", () =>
        Effect.gen(function* () {
          const store = yield* FileStore
          const tenant = Fixtures.freshTenant()
          const file = uploadingFile(tenant, { size: 100 })
          yield* store.create(file)
          const moved = yield* store.advance(tenant, file.id, {
            from: 0,
            to: 40,
            expiresAt: 2_000_000_000_000,
          })
          assert.deepStrictEqual(
            Option.getOrNull(Option.map(moved, (f) => [f.offset, f.expiresAt, f.status])),
            [40, 2_000_000_000_000, "uploading"],
          )
          assert.isTrue(
            Option.isNone(yield* store.advance(tenant, file.id, { from: 0, to: 50, expiresAt: 1 })),
          )
          assert.isTrue(
            Option.isNone(yield* store.advance(tenant, file.id, { from: 40, to: 101, expiresAt: 1 })),
          )
          assert.isTrue(
            Option.isNone(
              yield* store.advance(Fixtures.freshTenant(), file.id, { from: 40, to: 50, expiresAt: 1 }),
            ),
          )
          const stored = Option.getOrThrow(yield* store.get(tenant, file.id))
          assert.deepStrictEqual([stored.offset, stored.expiresAt], [40, 2_000_000_000_000])
        }),
      )

      it.effect("finishes an upload once: ready for good, or failed until it expires", () =>
        Effect.gen(function* () {
          const store = yield* FileStore
          const tenant = Fixtures.freshTenant()
          const file = uploadingFile(tenant, { size: 10, sha256: sha("b") })
          yield* store.create(file)
          yield* store.advance(tenant, file.id, { from: 0, to: 6, expiresAt: 1_800_000_000_000 })
          assert.isTrue(
            Option.isNone(
              yield* store.finish(tenant, file.id, { from: 0, status: "ready", sha256: sha("b") }),
            ),
          )
          const ready = yield* store.finish(tenant, file.id, { from: 6, status: "ready", sha256: sha("b") })
          assert.deepStrictEqual(
            Option.getOrNull(Option.map(ready, (f) => [f.status, f.offset, f.sha256, f.expiresAt])),
            ["ready", 10, sha("b"), null],
          )
          assert.isTrue(
            Option.isNone(
              yield* store.finish(tenant, file.id, { from: 10, status: "ready", sha256: sha("c") }),
            ),
          )
          assert.isTrue(
            Option.isNone(yield* store.advance(tenant, file.id, { from: 10, to: 10, expiresAt: 1 })),
          )
          assert.strictEqual(Option.getOrThrow(yield* store.get(tenant, file.id)).sha256, sha("b"))

          const other = uploadingFile(tenant, { size: 5, sha256: sha("d") })
          yield* store.create(other)
          const failed = yield* store.finish(tenant, other.id, {
            from: 0,
            status: "failed",
            expiresAt: 1_900_000_000_000,
          })
          assert.deepStrictEqual(
            Option.getOrNull(Option.map(failed, (f) => [f.status, f.offset, f.sha256, f.expiresAt])),
            ["failed", 5, sha("d"), 1_900_000_000_000],
          )
        }),
      )

      it.effect("removes a file with its shares", () =>
        Effect.gen(function* () {
          const store = yield* FileStore
          const tenant = Fixtures.freshTenant()
          const file = uploadingFile(tenant)
          yield* store.create(file)
          yield* store.share(tenant, file.id, conversation("c1"))
          assert.isFalse(yield* store.remove(Fixtures.freshTenant(), file.id))
          assert.isTrue(yield* store.remove(tenant, file.id))
          assert.isFalse(yield* store.remove(tenant, file.id))
          assert.isTrue(Option.isNone(yield* store.get(tenant, file.id)))
          assert.deepStrictEqual(yield* store.shares(tenant, file.id), [])
        }),
      )

      it.effect("lists expired unfinished and failed uploads of every tenant, oldest first", () =>
        Effect.gen(function* () {
          const store = yield* FileStore
          // Far in the past, so other tests' files (which expire later) are not listed.
          const t0 = 1_000_000
          const a = Fixtures.freshTenant()
          const b = Fixtures.freshTenant()
          const old = uploadingFile(a, { createdAt: t0 })
          const older = uploadingFile(b, { createdAt: t0 - 10 })
          const failed = uploadingFile(a, { createdAt: t0 - 5, size: 0 })
          const ready = uploadingFile(b, { createdAt: t0 - 20, size: 0 })
          const fresh = uploadingFile(a, { createdAt: t0 + 60_000 })
          for (const f of [old, older, failed, ready, fresh]) yield* store.create(f)
          yield* store.finish(a, failed.id, { from: 0, status: "failed", expiresAt: t0 - 5 + 3_600_000 })
          yield* store.finish(b, ready.id, { from: 0, status: "ready", sha256: sha("e") })
          // Other runs against the same database may have left files behind: look only at ours.
          const ours = (list: ReadonlyArray<FileRecord>) =>
            list.filter((f) => f.tenantId === a || f.tenantId === b).map((f) => f.id)
          const all = yield* store.expired(t0 + 3_600_000, 1000)
          assert.deepStrictEqual(ours(all), [older.id, failed.id, old.id])
          const firstTwo = yield* store.expired(t0 + 3_600_000, 2)
          assert.deepStrictEqual(
            firstTwo.map((f) => f.id),
            all.slice(0, 2).map((f) => f.id),
          )
          assert.deepStrictEqual(ours(yield* store.expired(t0 - 20 + 3_600_000 - 1, 1000)), [])
          for (const f of [old, older, failed, ready, fresh]) yield* store.remove(f.tenantId, f.id)
        }),
      )

      it.effect("shares a file with conversations, once each, within its tenant", () =>
        Effect.gen(function* () {
          const store = yield* FileStore
          const tenant = Fixtures.freshTenant()
          const file = uploadingFile(tenant)
          yield* store.create(file)
          assert.deepStrictEqual(yield* store.shares(tenant, file.id), [])
          yield* store.share(tenant, file.id, conversation("c2"))
          yield* store.share(tenant, file.id, conversation("c1"))
          yield* store.share(tenant, file.id, conversation("c2"))
          assert.deepStrictEqual(yield* store.shares(tenant, file.id), [
            conversation("c2"),
            conversation("c1"),
          ])
          assert.deepStrictEqual(yield* store.shares(Fixtures.freshTenant(), file.id), [])
        }),
      )
    })
  })
