/**
 * @module
 * The sandbox's mutable state, in module scope: one isolate per local run, which is all a stand-in
 * needs (a deployed, multi-isolate sandbox would give each isolate its own config and stats).
 */
import { FaultInjector } from './faults'
import { Stats } from './stats'

export const faults = new FaultInjector()
export const stats = new Stats()
