/**
 * A `Range` request header against a representation of `size` bytes (RFC 9110 §14): one byte range is
 * served as 206; a range that starts past the end is unsatisfiable (416). A header that is not a single
 * well-formed byte range (another unit, a list of ranges, `5-2`, garbage) is ignored, as the RFC allows:
 * the whole file is served.
 */
export type Requested =
  | { readonly _tag: "Whole" }
  | { readonly _tag: "Partial"; readonly start: number; readonly end: number }
  | { readonly _tag: "Unsatisfiable" }

const whole: Requested = { _tag: "Whole" }

export const parse = (header: string | undefined, size: number): Requested => {
  if (header === undefined) return whole
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (match === null) return whole
  const [, first = "", last = ""] = match
  if (first === "" && last === "") return whole
  if (first === "") {
    // A suffix: the last N bytes.
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return { _tag: "Unsatisfiable" }
    return { _tag: "Partial", start: Math.max(0, size - suffix), end: size }
  }
  const start = Number(first)
  const lastByte = last === "" ? Number.POSITIVE_INFINITY : Number(last)
  if (!Number.isSafeInteger(start) || lastByte < start) return whole
  if (start >= size) return { _tag: "Unsatisfiable" }
  return { _tag: "Partial", start, end: Math.min(size, lastByte + 1) }
}

/** `Content-Range` of a served range (`end` exclusive), or of an unsatisfiable one. */
export const contentRange = (requested: Requested, size: number): string =>
  requested._tag === "Partial" ? `bytes ${requested.start}-${requested.end - 1}/${size}` : `bytes */${size}`
