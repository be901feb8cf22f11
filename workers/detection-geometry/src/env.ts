/** Bindings of the mly-detection-geometry Worker (see its wrangler.toml). */
export interface Env {
  CACHE: KVNamespace
  MAPILLARY_GRAPH_URL: string
  /** A secret; a client's own `Authorization: OAuth MLY|…` header takes its place for that request. */
  MAPILLARY_ACCESS_TOKEN?: string
  /** Optional secret keying the hash that names a client token's identity (shared/upstream/identity.ts). */
  TOKEN_HASH_KEY?: string
  /** Upstream fetch attempts one invocation may make. */
  SUBREQUEST_BUDGET?: string
}
