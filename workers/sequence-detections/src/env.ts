import type { SequenceSweep } from './sequence-sweep'

/** Bindings of the mly-sequence-detections Worker (see its wrangler.toml). */
export interface Env {
  CACHE: KVNamespace
  MAPILLARY_GRAPH_URL: string
  /** A secret; a client's own `Authorization: OAuth MLY|…` header takes its place for that request. */
  MAPILLARY_ACCESS_TOKEN?: string
  /** Optional secret keying the hash that names a client token's identity (shared/upstream/identity.ts). */
  TOKEN_HASH_KEY?: string
  /** Upstream fetch attempts one invocation may make (each slice of a sweep is one invocation). */
  SUBREQUEST_BUDGET?: string
  /** Most child objects one sweep is split across (upstream connections: 6 × this). Default 4. */
  MAX_SHARDS?: string
  /** Fewest images worth a child object of their own. Default 12 (a 50-image sequence: 4 parts). */
  MIN_ITEMS_PER_SHARD?: string
  /** The fan-out coordinators, one per question (sequence id, fields, pixels). */
  SEQUENCE_SWEEP: DurableObjectNamespace<SequenceSweep>
}
