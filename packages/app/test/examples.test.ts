import { spawnSync } from "node:child_process"
import * as Path from "node:path"
import { expect, it } from "vitest"

const root = Path.resolve(import.meta.dirname, "../../..")

it("the embedding example of the README runs", () => {
  const result = spawnSync(Path.join(root, "node_modules/.bin/tsx"), ["packages/app/examples/embed.ts"], {
    cwd: root,
    encoding: "utf8",
    timeout: 90_000,
  })
  expect(result.status, result.stderr).toBe(0)
  expect(result.stdout).toMatch(/created conversation [0-9]{13}-[0-9a-f-]{36}: 201/)
  expect(result.stdout).toContain("sent message seq 1: 201")
  expect(result.stdout).toContain("sent it again: 200, the same message true")
  expect(result.stdout).toContain('alice\'s conversations: "Launch", last message "Hello, Bob!"')
}, 120_000)
