import type { TestServer } from "./TestServer.js"

let counter = 0
/** A fresh id, unique in the test process, for tenants, users and client message ids. */
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`

const users = ["alice", "bob", "carol", "dave"] as const

/** A fresh tenant with users alice, bob, carol and dave, and a service token. */
export const tenant = async (server: TestServer) => {
  const tid = unique("t")
  const tokens = {} as Record<(typeof users)[number], string>
  for (const user of users) tokens[user] = await server.token({ tid, sub: user })
  const service = await server.token({ tid, sub: "svc", role: "service" })
  return { tid, tokens, service }
}

/** A group conversation created by `owner` with `members`. */
export const group = async (
  server: TestServer,
  token: string,
  members: ReadonlyArray<string>,
  title = "team",
) => {
  const reply = await server.request("POST", "/v1/conversations", {
    token,
    body: { type: "group", members, title },
  })
  if (reply.status !== 201) throw new Error(`create conversation answered ${reply.status}: ${reply.text}`)
  return reply.body as { id: string; members: Array<{ userId: string; role: string }> }
}

/** Sends a text and returns the message. */
export const send = async (server: TestServer, token: string, conversationId: string, text: string) => {
  const reply = await server.request("POST", `/v1/conversations/${conversationId}/messages`, {
    token,
    body: { clientMessageId: unique("c"), content: { type: "text", text } },
  })
  if (reply.status !== 201) throw new Error(`send answered ${reply.status}: ${reply.text}`)
  return reply.body as { id: string; seq: number; senderId: string }
}

export const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
export const messageIdPattern =
  /^[0-9]{13}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Asserts a problem+json reply: status, code and (optionally) the field it names. */
export const expectProblem = (
  reply: { status: number; headers: Headers; body: unknown; text: string },
  status: number,
  code: string,
  field?: string,
) => {
  const problem = reply.body as Record<string, unknown> | undefined
  const where = `${reply.status} ${reply.text}`
  if (reply.status !== status) throw new Error(`expected ${status} ${code}, got ${where}`)
  if (!reply.headers.get("content-type")?.startsWith("application/problem+json"))
    throw new Error(`expected application/problem+json, got ${reply.headers.get("content-type")}`)
  if (problem?.code !== code) throw new Error(`expected code ${code}, got ${where}`)
  for (const key of ["type", "title", "status", "code", "detail"])
    if (problem[key] === undefined) throw new Error(`problem without ${key}: ${where}`)
  if (problem.status !== status) throw new Error(`problem.status ${problem.status} != ${status}`)
  if (field !== undefined && problem.field !== field)
    throw new Error(`expected field ${field}, got ${problem.field}: ${where}`)
  if (/\bat [\w.<>]+ \(|node:internal|\.ts:\d+/.test(reply.text))
    throw new Error(`a stack trace leaked: ${where}`)
}
