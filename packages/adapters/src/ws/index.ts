import * as Gateway from "./Gateway.js"
import * as MembershipIndex from "./MembershipIndex.js"
import * as Protocol from "./Protocol.js"
import * as Sequencer from "./Sequencer.js"
import * as Signals from "./Signals.js"
import * as UpgradeRouting from "./UpgradeRouting.js"

export { Gateway, MembershipIndex, Protocol, Sequencer, Signals, UpgradeRouting }
