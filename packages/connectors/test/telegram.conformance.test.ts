import { Telegram } from "@chat4all/connectors"
import { conformanceSuite, TelegramStandIn } from "@chat4all/connectors/testing"

conformanceSuite({ factory: Telegram.factory, standIn: TelegramStandIn.make })
