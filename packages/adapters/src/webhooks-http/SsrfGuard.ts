import * as Dns from "node:dns"
import * as Net from "node:net"
import { Duration, Effect, Either } from "effect"

/**
 * The guard that keeps webhook deliveries away from addresses the engine must not call (server-side
 * request forgery): loopback, private and shared networks, link-local, unique-local, unspecified,
 * multicast, broadcast, reserved ranges, and cloud metadata services.
 *
 * URLs are parsed with the WHATWG parser, which already reads every encoded IPv4 form the way a client
 * would (`0x7f000001`, `2130706433`, `0177.0.0.1`, `127.1` are all `127.0.0.1`) and normalises IPv6; IPv6
 * forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::`,
 * 6to4 `2002::`) are judged by the IPv4 address inside. A host name is resolved, every A and AAAA answer
 * is judged, and the connection is then made to the address that was judged (see `HttpSender`), so a
 * DNS answer that changes between the check and the connection (rebinding) cannot move it.
 */

/** Why an address is refused. `allowPrivate` lifts the first five; the rest are never a webhook target. */
export type Category =
  | "loopback"
  | "private"
  | "link-local"
  | "unique-local"
  | "reserved"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "metadata"

const liftable = new Set<Category>(["loopback", "private", "link-local", "unique-local", "reserved"])

export interface Refusal {
  readonly category: Category
  /** The range or the reason, for the message (`10.0.0.0/8`, `cloud metadata service`, ...). */
  readonly detail: string
}

// --- IPv4 -----------------------------------------------------------------------------------------------

/** A dotted-quad IPv4 address as a 32-bit number, or undefined. */
export const parseIpv4 = (text: string): number | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return value
}

const ipv4 = (text: string) => parseIpv4(text)!
const inV4 = (address: number, base: string, bits: number): boolean => {
  const size = 2 ** (32 - bits)
  const start = ipv4(base)
  return address >= start && address < start + size
}

const v4Metadata = new Map<string, string>([
  ["169.254.169.254", "cloud metadata service (AWS, GCP, Azure, OpenStack, ...)"],
  ["169.254.170.2", "cloud metadata service (AWS ECS task credentials)"],
  ["169.254.169.253", "cloud DNS resolver (AWS)"],
  ["168.63.129.16", "cloud platform service (Azure WireServer)"],
  ["100.100.100.200", "cloud metadata service (Alibaba Cloud)"],
  ["192.0.0.192", "cloud metadata service (Oracle Cloud)"],
])

const v4Ranges: ReadonlyArray<readonly [string, number, Category, string]> = [
  ["0.0.0.0", 8, "unspecified", "0.0.0.0/8 (this network)"],
  ["10.0.0.0", 8, "private", "10.0.0.0/8"],
  ["100.64.0.0", 10, "private", "100.64.0.0/10 (shared address space)"],
  ["127.0.0.0", 8, "loopback", "127.0.0.0/8"],
  ["169.254.0.0", 16, "link-local", "169.254.0.0/16"],
  ["172.16.0.0", 12, "private", "172.16.0.0/12"],
  ["192.0.0.0", 24, "reserved", "192.0.0.0/24 (IETF protocol assignments)"],
  ["192.0.2.0", 24, "reserved", "192.0.2.0/24 (documentation)"],
  ["192.88.99.0", 24, "reserved", "192.88.99.0/24 (6to4 relay)"],
  ["192.168.0.0", 16, "private", "192.168.0.0/16"],
  ["198.18.0.0", 15, "reserved", "198.18.0.0/15 (benchmarking)"],
  ["198.51.100.0", 24, "reserved", "198.51.100.0/24 (documentation)"],
  ["203.0.113.0", 24, "reserved", "203.0.113.0/24 (documentation)"],
  ["224.0.0.0", 4, "multicast", "224.0.0.0/4"],
  ["240.0.0.0", 4, "reserved", "240.0.0.0/4"],
]

const formatV4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".")

const classifyV4 = (address: number): Refusal | undefined => {
  const metadata = v4Metadata.get(formatV4(address))
  if (metadata !== undefined) return { category: "metadata", detail: metadata }
  if (address === 0xffffffff) return { category: "broadcast", detail: "255.255.255.255" }
  for (const [base, bits, category, detail] of v4Ranges)
    if (inV4(address, base, bits)) return { category, detail }
  return undefined
}

// --- IPv6 -----------------------------------------------------------------------------------------------

/** An IPv6 address as eight 16-bit groups (a zone `%...` and surrounding brackets are ignored), or undefined. */
export const parseIpv6 = (input: string): ReadonlyArray<number> | undefined => {
  let text = input.startsWith("[") && input.endsWith("]") ? input.slice(1, -1) : input
  const zone = text.indexOf("%")
  if (zone >= 0) text = text.slice(0, zone)
  if (Net.isIPv6(text) === false) return undefined
  const lastColon = text.lastIndexOf(":")
  const last = text.slice(lastColon + 1)
  if (last.includes(".")) {
    // A trailing dotted quad is the last two groups: "::ffff:127.0.0.1" is "::ffff:7f00:1".
    const v4 = parseIpv4(last)
    if (v4 === undefined) return undefined
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`
  }
  const groupsOf = (part: string) => (part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16)))
  const double = text.indexOf("::")
  let groups: Array<number>
  if (double >= 0) {
    const head = groupsOf(text.slice(0, double))
    const rest = groupsOf(text.slice(double + 2))
    groups = [...head, ...Array.from({ length: 8 - head.length - rest.length }, () => 0), ...rest]
  } else groups = groupsOf(text)
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined
}

const v4Of = (high: number, low: number) => high * 65536 + low

const describeV6 = (groups: ReadonlyArray<number>) => groups.map((g) => g.toString(16)).join(":")

/** An IPv4 address carried inside an IPv6 one, judged as that address. */
const embedded = (form: string, v4: number): Refusal | undefined => {
  const inner = classifyV4(v4)
  return inner === undefined
    ? undefined
    : { category: inner.category, detail: `${inner.detail}, as ${form} ${formatV4(v4)}` }
}

const classifyV6 = (g: ReadonlyArray<number>): Refusal | undefined => {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0)
  if (zeroTo(8)) return { category: "unspecified", detail: "::" }
  if (zeroTo(7) && g7 === 1) return { category: "loopback", detail: "::1" }
  if (zeroTo(5) && g5 === 0xffff) return embedded("IPv4-mapped", v4Of(g6, g7))
  if (zeroTo(6))
    return (
      embedded("IPv4-compatible", v4Of(g6, g7)) ?? {
        category: "reserved",
        detail: `::/96 (deprecated IPv4-compatible form of ${formatV4(v4Of(g6, g7))})`,
      }
    )
  if (zeroTo(4) && g4 === 0xffff && g5 === 0)
    return embedded("IPv4-translated", v4Of(g6, g7)) ?? { category: "reserved", detail: "::ffff:0:0:0/96" }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0)
    return embedded("NAT64", v4Of(g6, g7))
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1)
    return { category: "private", detail: "64:ff9b:1::/48 (local NAT64)" }
  if (g0 === 0x2002) return embedded("6to4", v4Of(g1, g2))
  if (
    g0 === 0xfd00 &&
    g1 === 0x0ec2 &&
    g2 === 0 &&
    g3 === 0 &&
    g4 === 0 &&
    g5 === 0 &&
    g6 === 0 &&
    g7 === 0x254
  )
    return { category: "metadata", detail: "cloud metadata service (AWS, fd00:ec2::254)" }
  if ((g0 & 0xff00) === 0xff00) return { category: "multicast", detail: "ff00::/8" }
  if ((g0 & 0xffc0) === 0xfe80) return { category: "link-local", detail: "fe80::/10" }
  if ((g0 & 0xffc0) === 0xfec0) return { category: "unique-local", detail: "fec0::/10 (site-local)" }
  if ((g0 & 0xfe00) === 0xfc00) return { category: "unique-local", detail: "fc00::/7" }
  if (g0 === 0x2001 && g1 === 0x0db8) return { category: "reserved", detail: "2001:db8::/32 (documentation)" }
  if (g0 === 0x2001 && g1 === 0) return { category: "reserved", detail: "2001::/32 (Teredo)" }
  if (g0 === 0x0100 && g1 === 0 && g2 === 0 && g3 === 0)
    return { category: "reserved", detail: "100::/64 (discard)" }
  if ((g0 & 0xe000) !== 0x2000)
    return { category: "reserved", detail: `${describeV6(g)} is outside 2000::/3 (global unicast)` }
  return undefined
}

/** Why an IP address (v4 dotted, or v6) is refused, or undefined when it may be called; also undefined for non-IPs. */
export const classify = (address: string): Refusal | undefined => {
  const v4 = parseIpv4(address)
  if (v4 !== undefined) return classifyV4(v4)
  const v6 = parseIpv6(address)
  return v6 === undefined ? undefined : classifyV6(v6)
}

const isIpLiteral = (host: string) => parseIpv4(host) !== undefined || parseIpv6(host) !== undefined

// --- names ----------------------------------------------------------------------------------------------

/** Names of metadata services that resolve only inside a cloud, refused before any lookup. */
const metadataNames = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.internal",
])

const classifyName = (name: string): Refusal | undefined => {
  if (metadataNames.has(name)) return { category: "metadata", detail: "cloud metadata service name" }
  if (name === "localhost" || name.endsWith(".localhost"))
    return { category: "loopback", detail: "localhost (RFC 6761)" }
  return undefined
}

// --- the guard ------------------------------------------------------------------------------------------

/** One answer of a name lookup. */
export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** Resolves a host name to all its addresses (A and AAAA). */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<ResolvedAddress>>

/** The system resolver (`getaddrinfo`: the hosts file, then DNS), every address of both families. */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await Dns.promises.lookup(hostname, { all: true, verbatim: true })
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
}

export interface Options {
  /** `CHAT4ALL_WEBHOOKS_ALLOW_PRIVATE`: lets loopback, private, link-local, unique-local and reserved through. */
  readonly allowPrivate: boolean
  readonly resolver?: Resolver | undefined
  /** How long a lookup may take. */
  readonly resolveTimeout?: Duration.DurationInput | undefined
}

/** A URL that passed the guard: what to call, and the address the connection must go to. */
export interface Target {
  readonly url: URL
  /** The host name without brackets, as the Host header and TLS name want it. */
  readonly hostname: string
  /** The address that was judged; the connection goes here and nowhere else. */
  readonly address: string
  readonly family: 4 | 6
}

const refusalMessage = (what: string, refusal: Refusal, allowPrivate: boolean): string => {
  const kind =
    refusal.category === "metadata"
      ? "a cloud metadata address, never a webhook target"
      : refusal.category === "unspecified" ||
          refusal.category === "multicast" ||
          refusal.category === "broadcast"
        ? `${refusal.category === "unspecified" ? "an unspecified" : `a ${refusal.category}`} address, never a webhook target`
        : `a ${refusal.category} address`
  const hint =
    liftable.has(refusal.category) && !allowPrivate
      ? "; private targets are refused unless the server sets CHAT4ALL_WEBHOOKS_ALLOW_PRIVATE=true"
      : ""
  return `${what} is ${kind} (${refusal.detail})${hint}`
}

const refused = (refusal: Refusal | undefined, allowPrivate: boolean) =>
  refusal !== undefined && !(allowPrivate && liftable.has(refusal.category))

/** The URL's syntax: http or https, a host, no credentials. Answers the parsed URL or why it is refused. */
export const parseUrl = (raw: string): Either.Either<URL, string> => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return Either.left("must be an absolute http or https URL")
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return Either.left(`must use http or https, not ${url.protocol.replace(/:$/, "")}`)
  if (url.username !== "" || url.password !== "")
    return Either.left("must not carry credentials (user:password@); authenticate with the signature instead")
  if (url.hostname === "") return Either.left("must name a host")
  return Either.right(url)
}

/**
 * Checks a URL and resolves its host: the target to connect to, or a sentence saying why not (for the
 * `url` field of a 400, or the error of an attempt). Every address a name resolves to must pass.
 */
export const make = (options: Options) => {
  const resolver = options.resolver ?? systemResolver
  const timeout = options.resolveTimeout ?? Duration.seconds(5)

  const check = (raw: string): Effect.Effect<Target, string> =>
    Effect.gen(function* () {
      const url = yield* parseUrl(raw)
      const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
      if (isIpLiteral(host)) {
        const refusal = classify(host)
        if (refused(refusal, options.allowPrivate))
          return yield* Effect.fail(refusalMessage(host, refusal!, options.allowPrivate))
        return { url, hostname: host, address: host, family: parseIpv4(host) === undefined ? 6 : 4 } as Target
      }
      const name = host.toLowerCase().replace(/\.$/, "")
      const byName = classifyName(name)
      if (refused(byName, options.allowPrivate))
        return yield* Effect.fail(refusalMessage(name, byName!, options.allowPrivate))
      const answers = yield* Effect.tryPromise({
        try: () => resolver(name),
        catch: (cause) => {
          const code = (cause as { readonly code?: unknown }).code
          return code === "ENOTFOUND" || code === "ENODATA"
            ? `host ${name} does not resolve`
            : `host ${name} could not be resolved (${typeof code === "string" ? code : String(cause)})`
        },
      }).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => `host ${name} did not resolve within ${Duration.format(timeout)}`,
        }),
      )
      if (answers.length === 0) return yield* Effect.fail(`host ${name} does not resolve`)
      for (const answer of answers) {
        const refusal =
          classify(answer.address) ??
          (isIpLiteral(answer.address)
            ? undefined
            : { category: "reserved" as const, detail: "not an IP address" })
        if (refused(refusal, options.allowPrivate))
          return yield* Effect.fail(
            refusalMessage(
              `host ${name} resolves to ${answer.address}, which`,
              refusal!,
              options.allowPrivate,
            ),
          )
      }
      const first = answers[0]!
      return { url, hostname: name, address: first.address, family: first.family } as Target
    })

  return { check }
}
