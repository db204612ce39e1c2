/**
 * Ids in NATS subjects and KV keys. Tenant, user and conversation ids may contain `.` (the subject token
 * separator) and `:` (not allowed in KV keys), so each id becomes one token of `[A-Za-z0-9-_]` by a
 * reversible escape: `_` is `__`, `.` is `_d`, `:` is `_c`, and anything else `_x` + 4 hex digits.
 */
export const encodeToken = (id: string): string => {
  let out = ""
  for (const ch of id) {
    if (/^[A-Za-z0-9-]$/.test(ch)) out += ch
    else if (ch === "_") out += "__"
    else if (ch === ".") out += "_d"
    else if (ch === ":") out += "_c"
    else for (const unit of ch.split("")) out += `_x${unit.charCodeAt(0).toString(16).padStart(4, "0")}`
  }
  if (out.length === 0) throw new Error("an empty id cannot be a subject token")
  return out
}

/** The id a token was made from; undefined for a string `encodeToken` does not produce. */
export const decodeToken = (token: string): string | undefined => {
  let out = ""
  for (let i = 0; i < token.length; i++) {
    const ch = token[i]!
    if (ch !== "_") {
      if (!/^[A-Za-z0-9-]$/.test(ch)) return undefined
      out += ch
      continue
    }
    const next = token[++i]
    if (next === "_") out += "_"
    else if (next === "d") out += "."
    else if (next === "c") out += ":"
    else if (next === "x") {
      const hex = token.slice(i + 1, i + 5)
      if (!/^[0-9a-f]{4}$/.test(hex)) return undefined
      out += String.fromCharCode(Number.parseInt(hex, 16))
      i += 4
    } else return undefined
  }
  return out
}

/** A subject prefix or stream name must be plain tokens: letters, digits, `-` and `_`, dot-separated. */
export const validPrefix = (prefix: string): boolean => /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)
