import { Schema } from "effect"

/** Times on the wire: ISO-8601 UTC strings; the engine keeps epoch milliseconds. */
export const Iso = Schema.String.annotations({
  description: "ISO-8601 UTC time, e.g. 2026-01-02T03:04:05.678Z",
  jsonSchema: { type: "string", format: "date-time" },
})

const isoCache = new Map<number, string>()
const isoCacheSize = 50_000

/**
 * Epoch ms as ISO-8601. The same instants come back again and again (a conversation's times, its members'
 * joins, last messages on every list), so formatted strings are kept: formatting was a tenth of a list's CPU.
 */
export const iso = (millis: number): string => {
  let text = isoCache.get(millis)
  if (text === undefined) {
    text = new Date(millis).toISOString()
    if (isoCache.size >= isoCacheSize) isoCache.clear()
    isoCache.set(millis, text)
  }
  return text
}

export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  description: "Free-form JSON object kept with the resource",
})

export const DeliveryStatus = Schema.Literal("pending", "sent", "delivered", "read", "failed")

/** `{ items, nextCursor }`: `nextCursor` is opaque, and null on the last page. */
export const Page = <S extends Schema.Schema.Any>(item: S, identifier: string) =>
  Schema.Struct({
    items: Schema.Array(item),
    nextCursor: Schema.NullOr(Schema.String).annotations({
      description: "Pass as `cursor` to read the next page; null on the last page",
    }),
  }).annotations({ identifier })
