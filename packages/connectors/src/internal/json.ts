import { Option } from "effect"

/** A webhook body as JSON: strict UTF-8 (a provider never sends anything else), then `JSON.parse`. */
export const parseBody = (bytes: Uint8Array): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown)
  } catch {
    return Option.none()
  }
}
