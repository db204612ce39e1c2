/**
 * Post-processing of the generated OpenAPI document. The framework documents its own decode error
 * (`HttpApiDecodeError`) for 400; the app answers those as problems (`invalid_request` naming the
 * field), so the document says so, and it lists the `X-Chat4All-User` header on every operation that
 * takes a token.
 */
type Json = Record<string, unknown>

const problemContent = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } }

const actAs = {
  name: "X-Chat4All-User",
  in: "header",
  required: false,
  description:
    "For `service` and `admin` tokens: the user of the token's tenant the request acts for (a user token may only name itself)",
  schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
}

export const transform = (spec: Json): Json => {
  const paths = (spec.paths ?? {}) as Record<string, Record<string, Json>>
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      if (typeof operation !== "object" || operation === null) continue
      const responses = (operation.responses ?? {}) as Record<string, Json>
      if (responses["400"] !== undefined)
        responses["400"] = {
          description: "`invalid_request`: `field` names what is missing or wrong (or the JSON is malformed)",
          content: problemContent,
        }
      if (Array.isArray(operation.security) && operation.security.length > 0) {
        const parameters = (operation.parameters ?? []) as Array<unknown>
        operation.parameters = [...parameters, actAs]
      }
    }
  }
  const components = spec.components as { schemas?: Record<string, unknown> } | undefined
  if (components?.schemas !== undefined) {
    delete components.schemas.HttpApiDecodeError
    delete components.schemas.Issue
    delete components.schemas.PropertyKey
  }
  return spec
}
