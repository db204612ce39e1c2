import { Instagram } from "@chat4all/connectors"
import { conformanceSuite, InstagramStandIn } from "@chat4all/connectors/testing"

conformanceSuite({ factory: Instagram.factory, standIn: InstagramStandIn.make })
