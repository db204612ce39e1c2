import { createHash, type Hash } from "node:crypto"
import { type FileHandle, mkdir, open, rm, stat } from "node:fs/promises"
import * as NodePath from "node:path"
import { BlobStore, Errors, type File } from "@chat4all/domain"
import { Config, Effect, Exit, Layer, Option, Queue, Stream, Take } from "effect"

export interface Options {
  /** The directory blobs live in (created when missing). Nothing is ever written outside it. */
  readonly directory: string
  /** Bytes per read, so per chunk of a read stream: 64 KiB unless set. */
  readonly readChunkBytes?: number | undefined
}

/** Stream chunks read ahead of the disk while a write is in flight (each is a socket read, <= 64 KiB, over HTTP). */
const readAhead = 32
/** Queued stream chunks one vectored write takes at most. */
const maxBatch = 64

const keyPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/

const isMissing = (error: unknown) => (error as { code?: unknown }).code === "ENOENT"

const unavailable = (operation: string) => (cause: unknown) =>
  new Errors.StoreUnavailable({ operation: `BlobStore.${operation}`, cause })

/** Writes every byte of `buffers` at `position`, however many calls the kernel needs. */
const writeAll = async (handle: FileHandle, buffers: ReadonlyArray<Uint8Array>, position: number) => {
  let pending = buffers.filter((b) => b.length > 0)
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending as Array<Uint8Array>, position)
    position += bytesWritten
    let skip = bytesWritten
    const rest: Array<Uint8Array> = []
    for (const buffer of pending) {
      if (skip >= buffer.length) skip -= buffer.length
      else {
        rest.push(skip === 0 ? buffer : buffer.subarray(skip))
        skip = 0
      }
    }
    pending = rest
  }
}

/**
 * Blobs as files under one directory, `<directory>/<last two characters of the key>/<key>`. Keys are
 * checked again here (letters, digits, `_` and `-` only) and every path is verified to resolve inside the
 * directory, so no key reaches a path outside it. Writes read at most `readAhead` stream chunks ahead of
 * the disk and write what is queued in one vectored call; reads come back in `readChunkBytes` pieces:
 * memory stays flat whatever a blob's size. An interrupted write still writes what it had read ahead.
 */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const root = NodePath.resolve(options.directory)
    const readChunk = options.readChunkBytes ?? 64 * 1024
    yield* Effect.tryPromise({ try: () => mkdir(root, { recursive: true }), catch: unavailable("open") })

    const pathOf = (key: BlobStore.BlobKey) => {
      if (!keyPattern.test(key)) throw new Error(`refused blob key ${JSON.stringify(key)}`)
      const path = NodePath.join(root, key.slice(-2).padStart(2, "_"), key)
      const relative = NodePath.relative(root, path)
      if (relative.startsWith("..") || NodePath.isAbsolute(relative))
        throw new Error(`blob key ${JSON.stringify(key)} resolves outside ${root}`)
      return path
    }
    const locate = (key: BlobKey) =>
      Effect.try({ try: () => pathOf(key), catch: (e) => e }).pipe(Effect.orDie)
    type BlobKey = BlobStore.BlobKey

    const sizeAt = (path: string, operation: string) =>
      Effect.tryPromise({
        try: () =>
          stat(path).then(
            (s) => Option.some(s.size),
            (e) => (isMissing(e) ? Option.none() : Promise.reject(e)),
          ),
        catch: unavailable(operation),
      })

    /** A file handle closed with the scope; `missing` is the error for a file that does not exist. */
    const openHandle = <M>(path: string, flags: string, operation: string, missing: () => M) =>
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => open(path, flags),
          catch: (e) => (isMissing(e) ? missing() : unavailable(operation)(e)),
        }),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined)),
      )

    const write = <E>(
      key: BlobKey,
      offset: number,
      data: Stream.Stream<Uint8Array, E>,
      writeOptions?: { readonly digests?: ReadonlyArray<File.ChecksumAlgorithm> | undefined },
    ) =>
      Effect.scoped(
        Effect.gen(function* () {
          const path = yield* locate(key)
          const current = yield* sizeAt(path, "write")
          if (offset > Option.getOrElse(current, () => 0) || (Option.isNone(current) && offset !== 0))
            return yield* new BlobStore.BlobRangeError({
              key,
              size: Option.getOrElse(current, () => 0),
              start: offset,
              end: offset,
            })
          if (Option.isNone(current))
            yield* Effect.tryPromise({
              try: () => mkdir(NodePath.dirname(path), { recursive: true }),
              catch: unavailable("write"),
            })
          const handle = yield* openHandle(path, Option.isNone(current) ? "w" : "r+", "write", () =>
            unavailable("write")(new Error(`${path} vanished while being opened`)),
          )
          yield* Effect.tryPromise({ try: () => handle.truncate(offset), catch: unavailable("write") })
          const algorithms = writeOptions?.digests ?? []
          const hashes: Array<readonly [File.ChecksumAlgorithm, Hash]> = algorithms.map((a) => [
            a,
            createHash(a),
          ])
          let position = offset
          const sync = Effect.tryPromise({ try: () => handle.datasync(), catch: unavailable("write") })
          // The stream is read ahead of the disk into a bounded queue, so the network keeps flowing while a
          // write is in flight; each write takes everything queued (vectored), bounded by `maxBatch`.
          const queue = yield* Stream.toQueue(data, { capacity: readAhead })
          /** Writes the chunks of `takes`, in order, and answers where the stream ended, if it did. */
          const writeTakes = (takes: Iterable<Take.Take<Uint8Array, E>>) => {
            const buffers: Array<Uint8Array> = []
            let ended: Exit.Exit<void, E> | undefined
            for (const take of takes) {
              if (ended !== undefined) break
              Take.match(take, {
                onEnd: () => {
                  ended = Exit.void
                },
                onFailure: (cause) => {
                  ended = Exit.failCause(cause)
                },
                onSuccess: (chunk) => {
                  for (const buffer of chunk) buffers.push(buffer)
                },
              })
            }
            // Uninterruptible: an interruption lands between writes, never halfway through one.
            return Effect.uninterruptible(
              Effect.tryPromise({
                try: () => writeAll(handle, buffers, position),
                catch: unavailable("write"),
              }),
            ).pipe(
              Effect.map(() => {
                for (const buffer of buffers) {
                  position += buffer.length
                  for (const [, hash] of hashes) hash.update(buffer)
                }
                return ended
              }),
            )
          }
          // Waiting for data may be interrupted; once chunks are taken off the queue they are written, or an
          // interruption right after the take would leave a hole where they belonged.
          const step = Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(restore(Queue.takeBetween(queue, 1, maxBatch)), writeTakes),
          )
          const drain: Effect.Effect<void, E | Errors.StoreUnavailable> = Effect.flatMap(step, (ended) =>
            ended === undefined ? drain : ended,
          )
          yield* drain.pipe(
            // Interrupted: what was already read ahead is written too, so the blob ends where the stream was.
            Effect.onInterrupt(() => Effect.ignore(Effect.flatMap(Queue.takeAll(queue), writeTakes))),
            // What landed before a failure or an interruption stays, and is made durable too.
            Effect.onExit((exit) => (exit._tag === "Failure" ? Effect.ignore(sync) : Effect.void)),
          )
          yield* sync
          return {
            written: position - offset,
            size: position,
            digests: Object.fromEntries(hashes.map(([a, hash]) => [a, hash.digest("hex")])),
          } satisfies BlobStore.WriteResult
        }),
      )

    const notFound = (key: BlobKey) => new BlobStore.BlobNotFound({ key })

    const openExisting = (key: BlobKey, flags: string, operation: string) =>
      Effect.flatMap(locate(key), (path) => openHandle(path, flags, operation, () => notFound(key)))

    const read = (key: BlobKey, range?: BlobStore.ByteRange) =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const handle = yield* openExisting(key, "r", "read")
          const { size } = yield* Effect.tryPromise({ try: () => handle.stat(), catch: unavailable("read") })
          const start = range?.start ?? 0
          const end = range?.end ?? size
          if (
            !Number.isSafeInteger(start) ||
            !Number.isSafeInteger(end) ||
            start < 0 ||
            end > size ||
            start > end
          )
            return yield* new BlobStore.BlobRangeError({ key, size, start, end })
          return Stream.unfoldEffect(start, (position) =>
            position >= end
              ? Effect.succeed(Option.none())
              : Effect.tryPromise({
                  try: async () => {
                    const buffer = new Uint8Array(Math.min(readChunk, end - position))
                    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
                    if (bytesRead === 0)
                      throw new Error(`blob ${key} shrank to ${position} bytes while being read`)
                    return Option.some([buffer.subarray(0, bytesRead), position + bytesRead] as const)
                  },
                  catch: unavailable("read"),
                }),
          )
        }),
      )

    const digest = (key: BlobKey, algorithm: File.ChecksumAlgorithm) =>
      Effect.scoped(
        Effect.gen(function* () {
          const handle = yield* openExisting(key, "r", "digest")
          return yield* Effect.tryPromise({
            try: async () => {
              const hash = createHash(algorithm)
              const buffer = new Uint8Array(1024 * 1024)
              let position = 0
              for (;;) {
                const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
                if (bytesRead === 0) return hash.digest("hex")
                hash.update(buffer.subarray(0, bytesRead))
                position += bytesRead
              }
            },
            catch: unavailable("digest"),
          })
        }),
      )

    return BlobStore.BlobStore.of({
      write,
      truncate: (key, size) =>
        Effect.scoped(
          Effect.gen(function* () {
            const handle = yield* openExisting(key, "r+", "truncate")
            const { size: current } = yield* Effect.tryPromise({
              try: () => handle.stat(),
              catch: unavailable("truncate"),
            })
            if (!Number.isSafeInteger(size) || size < 0 || size > current)
              return yield* new BlobStore.BlobRangeError({ key, size: current, start: size, end: size })
            yield* Effect.tryPromise({
              try: () => handle.truncate(size).then(() => handle.datasync()),
              catch: unavailable("truncate"),
            })
          }),
        ),
      read,
      size: (key) => Effect.flatMap(locate(key), (path) => sizeAt(path, "size")),
      digest,
      delete: (key) =>
        Effect.flatMap(locate(key), (path) =>
          Effect.tryPromise({
            try: () =>
              rm(path).then(
                () => true,
                (e) => (isMissing(e) ? false : Promise.reject(e)),
              ),
            catch: unavailable("delete"),
          }),
        ),
    })
  })

/** Blobs under `options.directory`. */
export const layer = (options: Options) => Layer.effect(BlobStore.BlobStore, make(options))

/** Blobs under `DATA_DIR/files` (`DATA_DIR` defaults to `./.chat4all`). */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(Config.string("DATA_DIR").pipe(Config.withDefault("./.chat4all")), (dataDir) =>
    layer({ directory: NodePath.join(dataDir, "files") }),
  ),
)
