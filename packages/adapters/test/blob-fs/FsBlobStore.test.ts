import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import type { BlobStore } from "@chat4all/domain"
import { blobStoreSuite, freshBlobKey } from "@chat4all/domain/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import { afterAll } from "vitest"
import { FsBlobStore } from "../../src/blob-fs/index.js"

const directory = mkdtempSync(NodePath.join(tmpdir(), "chat4all-blobs-"))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

blobStoreSuite("filesystem", FsBlobStore.layer({ directory: NodePath.join(directory, "contract") }))

const listAll = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listAll(NodePath.join(dir, e.name)).map((p) => `${e.name}/${p}`) : [e.name],
  )

describe("FsBlobStore", () => {
  const root = NodePath.join(directory, "inside", "files")
  const blobs = FsBlobStore.make({ directory: root })

  it.effect("refuses keys that could name a path outside its directory", () =>
    Effect.gen(function* () {
      const store = yield* blobs
      for (const key of ["../escape", "..", "a/b", "a\\b", "/etc/passwd", ".hidden", "", "a".repeat(129)]) {
        const exit = yield* Effect.exit(
          store.write(key as BlobStore.BlobKey, 0, Stream.make(new Uint8Array([1]))),
        )
        assert.isTrue(Exit.isFailure(exit), `key ${JSON.stringify(key)} was accepted`)
        assert.isTrue(Exit.isFailure(yield* Effect.exit(store.size(key as BlobStore.BlobKey))))
        assert.isTrue(Exit.isFailure(yield* Effect.exit(store.delete(key as BlobStore.BlobKey))))
      }
      assert.deepStrictEqual(readdirSync(NodePath.join(directory, "inside")), ["files"])
      assert.deepStrictEqual(listAll(root), [])
    }),
  )

  it.effect("stores each blob as one file under its directory", () =>
    Effect.gen(function* () {
      const store = yield* blobs
      const key = freshBlobKey()
      yield* store.write(key, 0, Stream.make(new TextEncoder().encode("bytes")))
      assert.deepStrictEqual(listAll(root), [`${key.slice(-2)}/${key}`])
      assert.isTrue(yield* store.delete(key))
      assert.deepStrictEqual(listAll(root), [])
    }),
  )
})
