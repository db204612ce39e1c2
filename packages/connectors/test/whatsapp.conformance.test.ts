import { WhatsApp } from "@chat4all/connectors"
import { conformanceSuite, WhatsAppStandIn } from "@chat4all/connectors/testing"

conformanceSuite({ factory: WhatsApp.factory, standIn: WhatsAppStandIn.make })
