#!/usr/bin/env node
// The registry this project is built against serves platform-specific optional packages only for some
// platforms, so npm cannot record the others in package-lock.json, and `npm ci` then refuses the lock
// as "out of sync". This adds the missing entries, with the os/cpu/libc read from each package's name,
// so npm ci skips them here and installs them from any full registry on the platforms they are for.
// Run it after `npm install` whenever `npm ci` reports "Missing: ... from lock file".
import { readFileSync, writeFileSync } from "node:fs"

const path = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(readFileSync(path, "utf8"))
const packages = lock.packages

const osNames = [
  "android",
  "darwin",
  "freebsd",
  "linux",
  "openbsd",
  "openharmony",
  "sunos",
  "win32",
  "aix",
  "netbsd",
]
const cpuNames = ["arm64", "x64", "ia32", "arm", "loong64", "ppc64", "riscv64", "s390x", "mips64el"]

const platformOf = (name) => {
  const parts = name.split("/").pop().split("-")
  const os = osNames.find((o) => parts.includes(o))
  const cpu = cpuNames.find((c) => parts.includes(c)) ?? (parts.includes("x86") ? "ia32" : undefined)
  if (os === undefined || cpu === undefined) return undefined
  const libc =
    parts.includes("musl") || parts.includes("musleabihf") ? "musl" : os === "linux" ? "glibc" : undefined
  return { os: [os], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) }
}

let added = 0
for (const [key, entry] of Object.entries(packages)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    if (packages[`node_modules/${dep}`] !== undefined) continue
    const platform = platformOf(dep)
    if (platform === undefined || !/^\d+\.\d+\.\d+/.test(range)) {
      console.error(`cannot complete ${dep}@${range} (needed by ${key || "the root"}): add it by hand`)
      process.exitCode = 1
      continue
    }
    packages[`node_modules/${dep}`] = {
      version: range,
      ...platform,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
    }
    added++
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
)
lock.packages = sorted
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`package-lock.json: ${added} platform-specific optional entries added`)
