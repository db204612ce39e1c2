/**
 * A request URL as the access log shows it: a token sent in the query (`?access_token=`, which API.md
 * allows for WebSocket connects and file links) is replaced, so logs never hold a credential. The query is
 * parsed as the server parses it, so an encoded name (`access%5Ftoken`) is caught too.
 */
export const loggedUrl = (url: string): string => {
  const start = url.indexOf("?")
  if (start < 0) return url
  const params = new URLSearchParams(url.slice(start + 1))
  if (!params.has("access_token")) return url
  params.set("access_token", "REDACTED")
  return `${url.slice(0, start)}?${params}`
}
