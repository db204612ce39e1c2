import { conformanceSuite } from "@chat4all/connectors/testing"
import * as Postbox from "../examples/postbox/Postbox.js"
import * as PostboxStandIn from "../examples/postbox/PostboxStandIn.js"

// The example of docs/connectors.md, held to the same kit as the shipped connectors.
conformanceSuite({ factory: Postbox.factory, standIn: PostboxStandIn.make })
