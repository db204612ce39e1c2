import { Schema } from "effect"

/**
 * Text every store can keep, checked where it enters the model rather than discovered by one store's
 * refusal: no U+0000 (PostgreSQL refuses it in `text` and in `jsonb`, so the memory store would keep what
 * PostgreSQL answers with an error) and no lone surrogate (not Unicode: it cannot be encoded as UTF-8).
 */
export const isStorableText = (text: string): boolean =>
  !text.includes("\u0000") &&
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)

const refusal = "holds U+0000 or a lone surrogate, which cannot be stored"

/** A string filter: storable text. */
export const text = <S extends Schema.Schema.Any & { readonly Type: string }>(self: S) =>
  self.pipe(Schema.filter((value: string) => isStorableText(value) || `the text ${refusal}`))

/** Every string inside a JSON value (keys included) is storable text. */
export const isStorableValue = (value: unknown): boolean => {
  if (typeof value === "string") return isStorableText(value)
  if (Array.isArray(value)) return value.every(isStorableValue)
  if (typeof value === "object" && value !== null)
    return Object.entries(value).every(([key, inner]) => isStorableText(key) && isStorableValue(inner))
  return true
}

/** A filter for JSON-like values (metadata): every string in them is storable text. */
export const deep = <S extends Schema.Schema.Any>(self: S) =>
  self.pipe(Schema.filter((value: unknown) => isStorableValue(value) || `a string in it ${refusal}`))
