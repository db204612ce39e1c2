import { eventPositionsSuite, TestIdGenerator } from "@chat4all/domain/testing"
import { Layer } from "effect"
import { storageLayer } from "../../src/memory/index.js"

// The realtime gateway's resume cursors and reordering rest on event positions; memory storage provides them.
eventPositionsSuite("memory", Layer.merge(storageLayer, TestIdGenerator.layer))
