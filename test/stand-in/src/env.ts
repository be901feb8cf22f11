/** Bindings of the mly-sandbox Worker (see its wrangler.toml). All optional: the app also runs without any. */
export interface Env {
  /** When set, the only token accepted; otherwise any token starting with `MLY|`. */
  SANDBOX_TOKEN?: string
  /** Base latency of every Graph route, milliseconds (string var). */
  SANDBOX_LATENCY_MS?: string
  /** Uniform jitter around the latency, ± milliseconds (string var). */
  SANDBOX_JITTER_MS?: string
}
