import { fileStoreSuite } from "@chat4all/domain/testing"
import { MemoryFileStore } from "../../src/memory/index.js"

fileStoreSuite("memory", MemoryFileStore.layer)
