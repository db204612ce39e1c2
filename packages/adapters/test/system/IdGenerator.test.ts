import { idGeneratorSuite, TestIdGenerator } from "@chat4all/domain/testing"
import { SystemIdGenerator } from "../../src/system/index.js"

idGeneratorSuite("system (node:crypto)", SystemIdGenerator.layer)
idGeneratorSuite("test (counter)", TestIdGenerator.layer)
