import type { MapFeaturesSweep } from './map-features-sweep'

/** Bindings of the mly-map-features Worker (see its wrangler.toml). */
export interface Env {
  CACHE: KVNamespace
  /** One fan-out coordinator per normalised request (see map-features-sweep.ts). */
  MAP_FEATURES_SWEEP: DurableObjectNamespace<MapFeaturesSweep>
  MAPILLARY_GRAPH_URL: string
  /** A secret; a client's own `Authorization: OAuth MLY|…` header takes its place for that request. */
  MAPILLARY_ACCESS_TOKEN?: string
  /** Optional secret keying the hash that names a client token's identity (shared/upstream/identity.ts). */
  TOKEN_HASH_KEY?: string
  /** Upstream fetch attempts one invocation (one sweep slice) may make. */
  SUBREQUEST_BUDGET?: string
  /** Largest box served, in square degrees. */
  MAX_BBOX_AREA?: string
  /** Most upstream requests one question's sweep may make (default 200; see box-limits.ts). */
  MAX_BOX_REQUESTS?: string
  /** The same bound for a question run as a job (default 2000, never below MAX_BOX_REQUESTS). */
  MAX_JOB_BOX_REQUESTS?: string
  /** Most part objects a box planned into many cells is split across (default 4). */
  MAX_SHARDS?: string
  /** Fewest start cells worth a part object of their own (default 12). */
  MIN_ITEMS_PER_SHARD?: string
  /** Widest a requested cell may be, in degrees; unset: no limit (see docs/upstream.md). */
  MAX_CELL_SPAN_DEG?: string
}
