/**
 * @module
 * What the sequence task needs from its Worker ({@link SequenceTaskHost}): `BATCH_IDS`, the shard
 * settings, the upstream traits kept in KV (`CACHE`) for the configured upstream, and image sizes
 * kept a month in KV under the caller's identity.
 */
import { shardSettings } from '../../../shared/fanout/shards'
import { imageSizes } from '../../../shared/cache/image-sizes'
import { batchIdsSetting } from '../../../shared/upstream/batch-read'
import { readTraits, rememberTraits } from '../../../shared/upstream/traits'
import { DEFAULT_GRAPH_URL } from '../../../shared/upstream/request-client'
import type { UpstreamIdentity } from '../../../shared/upstream/identity'
import type { Env } from './env'
import type { SequenceTaskHost } from './sequence-task'

/**
 * The host of the task run by one sweep object. `identity` is the identity of the question the
 * object serves (its image sizes are kept under it); `defer` keeps a KV write going after the answer.
 * @example
 * new JobRunner(engineHost, sequenceTask(sequenceTaskHost(env, { identity: () => this.#identity, defer: (p) => ctx.waitUntil(p) })))
 */
export function sequenceTaskHost(env: Env, o: { identity: () => UpstreamIdentity; defer: (p: Promise<unknown>) => void }): SequenceTaskHost {
  // The traits of the upstream this Worker talks to: keyed by its origin, never by a token.
  const upstream = env.MAPILLARY_GRAPH_URL || DEFAULT_GRAPH_URL
  return {
    batchIds: batchIdsSetting(env),
    shards: shardSettings(env),
    // Best effort both ways (shared/upstream/traits.ts): a KV failure costs a probe, never an answer.
    readTraits: () => readTraits(env.CACHE, upstream),
    rememberTraits: (patch) => rememberTraits(env.CACHE, upstream, patch),
    async imageSizes(client, ids, batch) {
      return (await imageSizes(env.CACHE, client, o.identity(), ids, { batch, defer: o.defer })).sizes
    },
  }
}
