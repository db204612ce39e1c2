import { HttpServerResponse } from "@effect/platform"
import type { Schema } from "effect"

/**
 * A JSON response whose body is checked against the endpoint's wire schema at compile time only. The wire
 * encoders build those shapes exactly, so encoding them again through the schema on every response (which
 * validates every nested field: a fifth of the CPU of a conversation list) would add nothing.
 */
export const json = <S extends Schema.Schema.Any>(
  _schema: S,
  body: Schema.Schema.Type<S>,
  options: { readonly status?: number; readonly headers?: Record<string, string> } = {},
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(body, {
    status: options.status ?? 200,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  })
