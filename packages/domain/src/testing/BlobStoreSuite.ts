import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Deferred, Effect, Either, Exit, Fiber, type Layer, Option, Stream } from "effect"
import { BlobKey, BlobStore } from "../ports/BlobStore.js"

let keys = 0
/** A key no other test uses, so suites can share one store. */
export const freshBlobKey = (): BlobKey =>
  BlobKey.make(
    `b${Date.now().toString(36)}-${(++keys).toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
  )

const encoder = new TextEncoder()
const bytes = (text: string) => encoder.encode(text)
const concat = (chunks: Chunk.Chunk<Uint8Array>) => {
  const all = new Uint8Array(Chunk.reduce(chunks, 0, (n, c) => n + c.length))
  Chunk.reduce(chunks, 0, (at, c) => {
    all.set(c, at)
    return at + c.length
  })
  return all
}
const text = (chunks: Chunk.Chunk<Uint8Array>) => new TextDecoder().decode(concat(chunks))

/** Known digests (FIPS 180 and RFC 1321 test vectors), so the suite needs no hash of its own. */
const abc = {
  sha1: "a9993e364706816aba3e25717850c26c9cd0d89d",
  sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  md5: "900150983cd24fb0d6963f7d28e17f72",
}
const emptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/** `count` chunks of `size` bytes, each filled with its index: made lazily, never all in memory. */
export const patternStream = (count: number, size: number) =>
  Stream.range(0, count - 1).pipe(Stream.map((i) => new Uint8Array(size).fill(i % 251)))

const readAll = (key: BlobKey, range?: { start: number; end: number }) =>
  Effect.flatMap(BlobStore, (blobs) => Stream.runCollect(blobs.read(key, range)))

/**
 * The BlobStore contract: writes at an offset replace the tail, stream in and out in bounded chunks, keep
 * what landed before a failure or an interruption, compute digests, and refuse ranges outside a blob.
 */
export const blobStoreSuite = <E>(name: string, store: Layer.Layer<BlobStore, E>) =>
  describe(`BlobStore contract: ${name}`, () => {
    layer(store, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("writes, appends, replaces a tail, reads ranges", () =>
        Effect.gen(function* () {
          const blobs = yield* BlobStore
          const key = freshBlobKey()
          assert.isTrue(Option.isNone(yield* blobs.size(key)))
          const first = yield* blobs.write(key, 0, Stream.make(bytes("hello "), bytes("world")))
          assert.deepStrictEqual(first, { written: 11, size: 11, digests: {} })
          assert.strictEqual(text(yield* readAll(key)), "hello world")
          const appended = yield* blobs.write(key, 11, Stream.make(bytes("!")))
          assert.strictEqual(appended.size, 12)
          const replaced = yield* blobs.write(key, 6, Stream.make(bytes("there")))
          assert.deepStrictEqual([replaced.written, replaced.size], [5, 11])
          assert.strictEqual(text(yield* readAll(key)), "hello there")
          assert.deepStrictEqual(yield* blobs.size(key), Option.some(11))
          assert.strictEqual(text(yield* readAll(key, { start: 6, end: 9 })), "the")
          assert.strictEqual(text(yield* readAll(key, { start: 0, end: 11 })), "hello there")
          assert.strictEqual((yield* readAll(key, { start: 4, end: 4 })).length, 0)
        }),
      )

      it.effect("refuses offsets and ranges outside the blob, changing nothing", () =>
        Effect.gen(function* () {
          const blobs = yield* BlobStore
          const key = freshBlobKey()
          const missing = yield* Effect.either(blobs.write(key, 1, Stream.make(bytes("x"))))
          assert.isTrue(Either.isLeft(missing) && missing.left._tag === "BlobRangeError")
          assert.isTrue(Option.isNone(yield* blobs.size(key)))
          yield* blobs.write(key, 0, Stream.make(bytes("abc")))
          const past = yield* Effect.either(blobs.write(key, 4, Stream.make(bytes("x"))))
          assert.isTrue(Either.isLeft(past) && past.left._tag === "BlobRangeError")
          const beyond = yield* Effect.either(readAll(key, { start: 1, end: 4 }))
          assert.isTrue(Either.isLeft(beyond) && beyond.left._tag === "BlobRangeError")
          const backwards = yield* Effect.either(readAll(key, { start: 2, end: 1 }))
          assert.isTrue(Either.isLeft(backwards) && backwards.left._tag === "BlobRangeError")
          const cut = yield* Effect.either(blobs.truncate(key, 4))
          assert.isTrue(Either.isLeft(cut) && cut.left._tag === "BlobRangeError")
          assert.strictEqual(text(yield* readAll(key)), "abc")
          const absent = yield* Effect.either(readAll(freshBlobKey()))
          assert.isTrue(Either.isLeft(absent) && absent.left._tag === "BlobNotFound")
          const absentDigest = yield* Effect.either(blobs.digest(freshBlobKey(), "sha256"))
          assert.isTrue(Either.isLeft(absentDigest) && absentDigest.left._tag === "BlobNotFound")
        }),
      )

      it.effect("creates an empty blob, truncates and deletes", () =>
        Effect.gen(function* () {
          const blobs = yield* BlobStore
          const key = freshBlobKey()
          assert.deepStrictEqual(yield* blobs.write(key, 0, Stream.empty), {
            written: 0,
            size: 0,
            digests: {},
          })
          assert.deepStrictEqual(yield* blobs.size(key), Option.some(0))
          assert.strictEqual(yield* blobs.digest(key, "sha256"), emptySha256)
          yield* blobs.write(key, 0, Stream.make(bytes("abcdef")))
          yield* blobs.truncate(key, 3)
          assert.strictEqual(text(yield* readAll(key)), "abc")
          assert.isTrue(yield* blobs.delete(key))
          assert.isFalse(yield* blobs.delete(key))
          assert.isTrue(Option.isNone(yield* blobs.size(key)))
        }),
      )

      it.effect("digests what a write wrote, and the whole blob", () =>
        Effect.gen(function* () {
          const blobs = yield* BlobStore
          const key = freshBlobKey()
          const result = yield* blobs.write(key, 0, Stream.make(bytes("a"), bytes("bc")), {
            digests: ["sha1", "sha256", "md5"],
          })
          assert.deepStrictEqual(result.digests, abc)
          const tail = yield* blobs.write(key, 3, Stream.make(bytes("abc")), { digests: ["sha256"] })
          assert.deepStrictEqual(tail.digests, { sha256: abc.sha256 })
          yield* blobs.truncate(key, 3)
          assert.strictEqual(yield* blobs.digest(key, "sha256"), abc.sha256)
          assert.strictEqual(yield* blobs.digest(key, "sha1"), abc.sha1)
          assert.strictEqual(yield* blobs.digest(key, "md5"), abc.md5)
        }),
      )

      it.effect("streams a large blob through in bounded chunks", () =>
        Effect.gen(function* () {
          const blobs = yield* BlobStore
          const key = freshBlobKey()
          const chunks = 96
          const size = 64 * 1024
          const written = yield* blobs.write(key, 0, patternStream(chunks, size), { digests: ["sha256"] })
          assert.strictEqual(written.size, chunks * size)
          assert.strictEqual(yield* blobs.digest(key, "sha256"), written.digests.sha256)
          let total = 0
          let largest = 0
          let mismatches = 0
          yield* Stream.runForEach(blobs.read(key), (piece) =>
            Effect.sync(() => {
              for (let i = 0; i < piece.length; i += 4093)
                if (piece[i] !== Math.floor((total + i) / size) % 251) mismatches++
              total += piece.length
              largest = Math.max(largest, piece.length)
            }),
          )
          assert.strictEqual(total, chunks * size)
          assert.strictEqual(mismatches, 0)
          assert.isAtMost(largest, 1024 * 1024, "a read chunk is bounded, whatever the blob's size")
          const middle = yield* readAll(key, { start: size - 2, end: size + 2 })
          assert.deepStrictEqual([...concat(middle)], [0, 0, 1, 1])
        }),
      )

      it.effect("keeps the chunks that landed before the data failed, and passes the failure on", () =>
        Effect.gen(function* () {
          const blobs = yield* BlobStore
          const key = freshBlobKey()
          yield* blobs.write(key, 0, Stream.make(bytes("head:")))
          const failing = Stream.make(bytes("one,"), bytes("two,")).pipe(
            Stream.concat(Stream.fail("broken" as const)),
          )
          const exit = yield* Effect.exit(blobs.write(key, 5, failing))
          assert.deepStrictEqual(exit, Exit.fail("broken" as const))
          assert.deepStrictEqual(yield* blobs.size(key), Option.some(13))
          assert.strictEqual(text(yield* readAll(key)), "head:one,two,")
        }),
      )

      it.effect("leaves an exact prefix of the data, whenever a write is interrupted", () =>
        Effect.gen(function* () {
          const blobs = yield* BlobStore
          const piece = 1024
          const chunks = 300
          const at = (i: number) => new Uint8Array(piece).fill(i % 251)
          for (let round = 0; round < 12; round++) {
            const key = freshBlobKey()
            // Chunks arrive with a pause between them, as from a socket, so the interruption lands anywhere.
            const data = Stream.range(0, chunks - 1).pipe(
              Stream.mapEffect((i) => Effect.as(Effect.sleep(i % 7 === 0 ? "1 millis" : 0), at(i))),
            )
            const fiber = yield* Effect.fork(blobs.write(key, 0, data))
            yield* Effect.sleep(`${round * 3} millis`)
            yield* Fiber.interrupt(fiber)
            // Interrupted before it opened the blob: nothing to check.
            const found = yield* blobs.size(key)
            if (Option.isNone(found)) continue
            const size = found.value
            assert.strictEqual(
              size % piece,
              0,
              `round ${round}: ${size} bytes is not a whole number of chunks`,
            )
            const content = concat(yield* readAll(key))
            for (let i = 0; i < size / piece; i++)
              assert.isTrue(
                content.subarray(i * piece, (i + 1) * piece).every((b) => b === i % 251),
                `round ${round}: chunk ${i} of ${size / piece} is not the data's chunk ${i}`,
              )
          }
        }),
      )

      it.effect("keeps the chunks that landed before an interruption", () =>
        Effect.gen(function* () {
          const blobs = yield* BlobStore
          const key = freshBlobKey()
          const pulled = yield* Deferred.make<void>()
          const stalled = Stream.make(bytes("first,"), bytes("second,")).pipe(
            Stream.concat(
              Stream.fromEffect(Effect.zipRight(Deferred.succeed(pulled, undefined), Effect.never)),
            ),
          )
          const fiber = yield* Effect.fork(blobs.write(key, 0, stalled))
          yield* Deferred.await(pulled)
          yield* Fiber.interrupt(fiber)
          // A prefix of the data that ends between two chunks, and the size says which.
          const size = Option.getOrElse(yield* blobs.size(key), () => -1)
          const landed = { 0: "", 6: "first,", 13: "first,second," }[size]
          assert.isDefined(landed, `the blob is ${size} bytes, not a whole number of chunks`)
          assert.strictEqual(text(yield* readAll(key)), landed)
          const again = yield* blobs.write(key, size, Stream.make(bytes("third")))
          assert.strictEqual(again.size, size + 5)
          assert.strictEqual(text(yield* readAll(key)), `${landed}third`)
        }),
      )
    })
  })
