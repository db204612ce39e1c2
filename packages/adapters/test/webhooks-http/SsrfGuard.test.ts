import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { HttpSender, SsrfGuard } from "../../src/webhooks-http/index.js"

/** A resolver that answers from a table, as DNS would for names we make up. */
const table =
  (answers: Record<string, ReadonlyArray<string>>): SsrfGuard.Resolver =>
  async (hostname) => {
    const found = answers[hostname]
    if (found === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" })
    return found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }) as const)
  }

const resolver = table({
  "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
  "internal.example.com": ["10.1.2.3"],
  "mixed.example.com": ["93.184.215.14", "192.168.1.10"],
  "v6private.example.com": ["fd12:3456::1"],
  "mapped.example.com": ["::ffff:127.0.0.1"],
  "metadata.example.com": ["169.254.169.254"],
  localhost: ["127.0.0.1", "::1"],
})

const check = (url: string, allowPrivate = false) =>
  Effect.runPromise(Effect.either(HttpSender.make({ allowPrivate, resolver }).check(url)))

const refusedFor = async (url: string, allowPrivate = false) => {
  const result = await check(url, allowPrivate)
  if (Either.isRight(result)) throw new Error(`${url} was accepted as ${result.right}`)
  return result.left.reason
}

/** Every form of a non-public address the brief names, each with what its refusal must say. */
const refused: ReadonlyArray<readonly [string, RegExp]> = [
  ["http://127.0.0.1/hook", /loopback/],
  ["http://127.0.0.2:8080/hook", /loopback/],
  ["http://0x7f000001/hook", /127\.0\.0\.1 is a loopback/],
  ["http://2130706433/hook", /127\.0\.0\.1 is a loopback/],
  ["http://0177.0.0.1/hook", /127\.0\.0\.1 is a loopback/],
  ["http://127.1/hook", /127\.0\.0\.1 is a loopback/],
  ["http://0x7f.1/hook", /loopback/],
  ["http://[::1]/hook", /::1 is a loopback/],
  ["http://[::ffff:127.0.0.1]/hook", /loopback.*IPv4-mapped 127\.0\.0\.1/],
  ["http://[::ffff:7f00:1]/hook", /loopback.*IPv4-mapped 127\.0\.0\.1/],
  ["http://[0:0:0:0:0:ffff:7f00:1]/hook", /loopback/],
  ["http://[::127.0.0.1]/hook", /loopback.*IPv4-compatible/],
  ["http://[::ffff:10.0.0.1]/hook", /private.*10\.0\.0\.0\/8/],
  ["http://[64:ff9b::192.168.0.1]/hook", /private.*NAT64/],
  ["http://[2002:c0a8:1::1]/hook", /private.*6to4 192\.168\.0\.1/],
  ["http://10.0.0.1/hook", /private address \(10\.0\.0\.0\/8\)/],
  ["http://10.255.255.255/hook", /private/],
  ["http://172.16.0.1/hook", /private address \(172\.16\.0\.0\/12\)/],
  ["http://172.31.255.254/hook", /private/],
  ["http://192.168.1.1/hook", /private address \(192\.168\.0\.0\/16\)/],
  ["http://100.64.0.1/hook", /private address \(100\.64\.0\.0\/10/],
  ["http://100.127.255.255/hook", /private/],
  ["http://169.254.1.1/hook", /link-local/],
  ["http://[fe80::1]/hook", /link-local/],
  ["http://[febf::1]/hook", /link-local/],
  ["http://[fc00::1]/hook", /unique-local/],
  ["http://[fd12:3456:789a::1]/hook", /unique-local/],
  ["http://0.0.0.0/hook", /unspecified/],
  ["http://0/hook", /unspecified/],
  ["http://[::]/hook", /unspecified/],
  ["http://224.0.0.1/hook", /multicast/],
  ["http://239.255.255.250/hook", /multicast/],
  ["http://[ff02::1]/hook", /multicast/],
  ["http://255.255.255.255/hook", /broadcast/],
  ["http://169.254.169.254/latest/meta-data/", /cloud metadata/],
  ["http://[fd00:ec2::254]/latest/meta-data/", /cloud metadata/],
  ["http://100.100.100.200/latest/meta-data/", /cloud metadata/],
  ["http://168.63.129.16/", /Azure/],
  ["http://metadata.google.internal/computeMetadata/v1/", /metadata/],
  ["http://localhost/hook", /localhost is a loopback/],
  ["http://LOCALHOST./hook", /localhost is a loopback/],
  ["http://api.localhost/hook", /loopback/],
  ["http://internal.example.com/hook", /resolves to 10\.1\.2\.3, which is a private address/],
  ["http://mixed.example.com/hook", /resolves to 192\.168\.1\.10, which is a private/],
  ["http://v6private.example.com/hook", /resolves to fd12:3456::1, which is a unique-local/],
  ["http://mapped.example.com/hook", /resolves to ::ffff:127\.0\.0\.1, which is a loopback/],
  ["http://metadata.example.com/hook", /cloud metadata/],
  ["http://192.0.2.10/hook", /documentation/],
  ["http://[2001:db8::1]/hook", /documentation/],
  ["http://240.0.0.1/hook", /reserved/],
]

describe("SsrfGuard", () => {
  it("refuses every loopback, private, link-local, unique-local, special and metadata form", async () => {
    for (const [url, reason] of refused) expect(await refusedFor(url), url).toMatch(reason)
  })

  it("says how to allow private targets, but only for the kinds that setting lifts", async () => {
    expect(await refusedFor("http://10.0.0.1/")).toMatch(/CHAT4ALL_WEBHOOKS_ALLOW_PRIVATE=true/)
    expect(await refusedFor("http://169.254.169.254/")).not.toMatch(/ALLOW_PRIVATE/)
  })

  it("refuses other schemes, credentials, relative and malformed URLs", async () => {
    expect(await refusedFor("ftp://hooks.example.com/x")).toMatch(/http or https, not ftp/)
    expect(await refusedFor("file:///etc/passwd")).toMatch(/http or https, not file/)
    expect(await refusedFor("gopher://hooks.example.com/")).toMatch(/http or https/)
    expect(await refusedFor("https://user:secret@hooks.example.com/x")).toMatch(/credentials/)
    expect(await refusedFor("https://user@hooks.example.com/x")).toMatch(/credentials/)
    expect(await refusedFor("http://127.0.0.1:80@hooks.example.com/")).toMatch(/credentials/)
    expect(await refusedFor("/relative/path")).toMatch(/absolute/)
    expect(await refusedFor("not a url")).toMatch(/absolute/)
    expect(await refusedFor("https://nowhere.example.com/")).toMatch(/does not resolve/)
  })

  it("accepts public addresses and names that resolve only to them, normalised", async () => {
    expect(await check("https://hooks.example.com/chat4all?x=1")).toEqual(
      Either.right("https://hooks.example.com/chat4all?x=1"),
    )
    expect(await check("HTTPS://Hooks.Example.COM:8443/a")).toEqual(
      Either.right("https://hooks.example.com:8443/a"),
    )
    expect(await check("http://93.184.215.14/hook")).toEqual(Either.right("http://93.184.215.14/hook"))
    expect(await check("http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook")).toEqual(
      Either.right("http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook"),
    )
    expect(await check("http://[::ffff:93.184.215.14]/hook")).toEqual(
      Either.right("http://[::ffff:5db8:d70e]/hook"),
    )
  })

  it("lets loopback, private, link-local and unique-local through with allowPrivate, never metadata or multicast", async () => {
    for (const url of [
      "http://127.0.0.1:9/h",
      "http://localhost:9/h",
      "http://10.0.0.1/h",
      "http://[::1]/h",
      "http://[fd12::1]/h",
      "http://169.254.1.1/h",
      "http://internal.example.com/h",
    ])
      expect(Either.isRight(await check(url, true)), url).toBe(true)
    for (const url of [
      "http://169.254.169.254/",
      "http://metadata.google.internal/",
      "http://0.0.0.0/",
      "http://224.0.0.1/",
      "http://255.255.255.255/",
    ])
      expect(await refusedFor(url, true), url).toMatch(/never a webhook target/)
  })

  it("parses IPv6 in all its spellings", () => {
    expect(SsrfGuard.parseIpv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1])
    expect(SsrfGuard.parseIpv6("[::ffff:127.0.0.1]")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1])
    expect(SsrfGuard.parseIpv6("64:ff9b::10.0.0.1")).toEqual([0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1])
    expect(SsrfGuard.parseIpv6("fe80::1%eth0")).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1])
    expect(SsrfGuard.parseIpv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(SsrfGuard.parseIpv6("1:2::")).toEqual([1, 2, 0, 0, 0, 0, 0, 0])
    expect(SsrfGuard.parseIpv6("127.0.0.1")).toBeUndefined()
    expect(SsrfGuard.parseIpv6("1:::2")).toBeUndefined()
    expect(SsrfGuard.parseIpv4("127.0.0.1")).toBe(0x7f000001)
    expect(SsrfGuard.parseIpv4("0177.0.0.1")).toBeUndefined()
    expect(SsrfGuard.parseIpv4("256.0.0.1")).toBeUndefined()
  })
})
