import { fanoutSuite, presenceSuite, storageSuites, TestIdGenerator } from "@chat4all/domain/testing"
import { Layer } from "effect"
import { MemoryFanout, MemoryPresence, storageLayer } from "../../src/memory/index.js"

storageSuites("memory", Layer.merge(storageLayer, TestIdGenerator.layer))
presenceSuite("memory", MemoryPresence.layer)
fanoutSuite("memory", Layer.merge(MemoryFanout.layer, TestIdGenerator.layer))
