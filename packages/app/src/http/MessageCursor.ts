import { Effect, Option, Schema } from "effect"
import * as Problem from "./Problem.js"

/** Where a page of messages continues: `after` pages towards newer messages, otherwise towards older ones. */
const Bounds = Schema.Struct({
  after: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  before: Schema.optional(Schema.Int.pipe(Schema.positive())),
})
export type Bounds = typeof Bounds.Type

const Cursor = Schema.compose(Schema.StringFromBase64Url, Schema.parseJson(Bounds))
const decodeCursor = Schema.decodeUnknownOption(Cursor)
const encodeCursor = Schema.encodeSync(Cursor)

/** Reads a cursor this server handed out (opaque on the wire). */
export const decode = (cursor: string): Effect.Effect<Bounds, Problem.Problem> =>
  Option.match(decodeCursor(cursor), {
    onNone: () => Effect.fail(Problem.invalidRequest("cursor", "is not a cursor this server handed out")),
    onSome: Effect.succeed,
  })

/**
 * The cursor of the next page, when there may be one: paging forward (`after`) continues after the last
 * message, keeping `before`; otherwise (the latest messages, or `before`) it continues before the first.
 */
export const next = (
  bounds: { readonly after?: number | undefined; readonly before?: number | undefined },
  items: ReadonlyArray<{ readonly seq: number }>,
  limit: number,
): string | undefined => {
  if (items.length < limit || items.length === 0) return undefined
  if (bounds.after !== undefined)
    return encodeCursor({
      after: items[items.length - 1]!.seq,
      ...(bounds.before === undefined ? {} : { before: bounds.before }),
    })
  const first = items[0]!.seq
  return first > 1 ? encodeCursor({ before: first }) : undefined
}
