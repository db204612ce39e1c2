import type { HttpApi, HttpApiGroup } from "@effect/platform"

interface Route {
  readonly method: string
  readonly template: string
  readonly pattern: RegExp
}

export interface Match {
  /** The route template for metrics labels (`/v1/conversations/:conversationId`), or `unmatched`. */
  readonly route: string
  /** The methods the path answers to, when it answers to some but not this one. */
  readonly allowed: ReadonlyArray<string>
}

const compile = (template: string): RegExp =>
  new RegExp(
    `^${template
      .split("/")
      .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/")}/?$`,
  )

/** The route table of an API plus extra routes, to label requests and tell 404 from 405. */
export const make = (
  api: HttpApi.HttpApi.Any,
  extra: ReadonlyArray<{ readonly method: string; readonly path: string }>,
) => {
  const routes: Array<Route> = []
  const groups = (api as unknown as HttpApi.HttpApi.AnyWithProps).groups
  for (const group of Object.values(groups) as Array<HttpApiGroup.HttpApiGroup.AnyWithProps>)
    for (const endpoint of Object.values(group.endpoints))
      routes.push({ method: endpoint.method, template: endpoint.path, pattern: compile(endpoint.path) })
  for (const r of extra) routes.push({ method: r.method, template: r.path, pattern: compile(r.path) })
  // Literal segments first: `/health/live` must not be read as `/health/:x`.
  routes.sort((a, b) => (a.template.includes(":") ? 1 : 0) - (b.template.includes(":") ? 1 : 0))

  const match = (method: string, pathname: string): Match => {
    const allowed: Array<string> = []
    let route: string | undefined
    for (const r of routes) {
      if (!r.pattern.test(pathname)) continue
      if (r.method === method || (method === "HEAD" && r.method === "GET"))
        return { route: r.template, allowed: [] }
      route ??= r.template
      allowed.push(r.method)
    }
    return { route: route ?? "unmatched", allowed }
  }
  return { match }
}
export type RouteTable = ReturnType<typeof make>
