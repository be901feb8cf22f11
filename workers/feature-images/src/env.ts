import type { FeatureImagesJob } from './feature-images-job'

/** Bindings of the mly-feature-images Worker (see its wrangler.toml). */
export interface Env {
  CACHE: KVNamespace
  MAPILLARY_GRAPH_URL: string
  /** A secret; a client's own `Authorization: OAuth MLY|…` header takes its place for that request. */
  MAPILLARY_ACCESS_TOKEN?: string
  /** Optional secret keying the hash that names a client token's identity (shared/upstream/identity.ts). */
  TOKEN_HASH_KEY?: string
  /** Upstream fetch attempts one invocation may make. */
  SUBREQUEST_BUDGET?: string
  /** Most part objects one question is split across (upstream connections: 6 × this). Default 4. */
  MAX_SHARDS?: string
  /** Fewest images worth a part object of their own. Default 12. */
  MIN_ITEMS_PER_SHARD?: string
  /** The fan-out objects, one per question (feature id, caller's upstream identity). */
  FEATURE_IMAGES_JOB: DurableObjectNamespace<FeatureImagesJob>
}
