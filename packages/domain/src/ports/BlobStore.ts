import { Context, Data, type Effect, type Option, Schema, type Stream } from "effect"
import type { StoreUnavailable } from "../model/Errors.js"
import type { ChecksumAlgorithm } from "../model/File.js"

/**
 * A blob's name: 1-128 characters of `A-Z a-z 0-9 _ -`, starting with a letter or digit. No dots and no
 * separators, so a key can never name a path outside the store, whatever an adapter does with it.
 */
export const BlobKey = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, {
    message: () => "must be 1-128 characters of A-Z a-z 0-9 _ -, starting with a letter or digit",
  }),
  Schema.brand("BlobKey"),
)
export type BlobKey = typeof BlobKey.Type

/** No blob under this key. */
export class BlobNotFound extends Data.TaggedError("BlobNotFound")<{ readonly key: BlobKey }> {
  override get message() {
    return `no blob ${this.key}`
  }
}

/** An offset or range outside the blob: a write past its end, a read past its size. */
export class BlobRangeError extends Data.TaggedError("BlobRangeError")<{
  readonly key: BlobKey
  readonly size: number
  readonly start: number
  readonly end: number
}> {
  override get message() {
    return `bytes ${this.start}-${this.end} are outside blob ${this.key} of ${this.size} bytes`
  }
}

/** A byte range: `start` inclusive, `end` exclusive. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

/** What a write did: the bytes it wrote, the blob's size after it, and the asked digests of those bytes. */
export interface WriteResult {
  readonly written: number
  readonly size: number
  /** Lower-case hex, one per algorithm asked for. */
  readonly digests: Partial<Record<ChecksumAlgorithm, string>>
}

/**
 * Byte storage for files, streaming both ways: no method holds a whole blob, or a whole request body, in
 * memory — at most one chunk of the stream it is given, or one bounded read buffer.
 */
export class BlobStore extends Context.Tag("@chat4all/domain/BlobStore")<
  BlobStore,
  {
    /**
     * Writes `data` at `offset`, replacing whatever followed it: afterwards the blob is its first `offset`
     * bytes and then `data`. Offset 0 creates the blob when it does not exist; an offset past the end fails
     * with `BlobRangeError` and changes nothing.
     *
     * Chunks are written in order; an adapter may read a bounded number of them ahead of the disk. When
     * `data` fails, every chunk before the failure is written and the failure passes on. When the write is
     * interrupted, it stops between two writes (what was read ahead may or may not be written). Either way
     * the blob is its first `offset` bytes followed by a prefix of `data` that ends between two chunks, and
     * its `size` tells how far it got. Data is durable (synced) once the effect ends, whichever way.
     */
    readonly write: <E>(
      key: BlobKey,
      offset: number,
      data: Stream.Stream<Uint8Array, E>,
      options?: { readonly digests?: ReadonlyArray<ChecksumAlgorithm> | undefined },
    ) => Effect.Effect<WriteResult, E | BlobRangeError | StoreUnavailable>
    /** Cuts the blob to `size` bytes (not more than it has). */
    readonly truncate: (
      key: BlobKey,
      size: number,
    ) => Effect.Effect<void, BlobNotFound | BlobRangeError | StoreUnavailable>
    /**
     * The blob's bytes, or the `range` of them, as a stream of bounded chunks. The range must lie within
     * the blob (`BlobRangeError` otherwise); an empty range is an empty stream.
     */
    readonly read: (
      key: BlobKey,
      range?: ByteRange,
    ) => Stream.Stream<Uint8Array, BlobNotFound | BlobRangeError | StoreUnavailable>
    /** The blob's size in bytes, `None` when there is no such blob. */
    readonly size: (key: BlobKey) => Effect.Effect<Option.Option<number>, StoreUnavailable>
    /** A digest of the whole blob, in lower-case hex, read in bounded chunks. */
    readonly digest: (
      key: BlobKey,
      algorithm: ChecksumAlgorithm,
    ) => Effect.Effect<string, BlobNotFound | StoreUnavailable>
    /** Removes the blob; true when there was one. */
    readonly delete: (key: BlobKey) => Effect.Effect<boolean, StoreUnavailable>
  }
>() {}
