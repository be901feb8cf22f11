/**
 * @module
 * The Graph API client and its error mapping.
 */
export { GraphClient, type GraphClientOptions, type GraphClientStats } from './client'
export { UpstreamError, type UpstreamReason, type UpstreamErrorInit } from './errors'
export { upstreamProblem, DEFAULT_RETRY_AFTER_SECONDS } from './to-problem'
export { tokenFrom } from './token'
export { requestIdentity, upstreamIdentity, identityPart, type UpstreamIdentity, type IdentitySettings } from './identity'
export { createLimiter, type Limiter } from './limiter'
export { backoffDelay, parseRetryAfter } from './backoff'
export { clientForRequest, subrequestBudget, DEFAULT_GRAPH_URL, type UpstreamSettings } from './request-client'
export { GovernedPermits, permitKind, type PermitSource, type PermitRefusal, type GovernorStub } from './permits'
export { acquire, report, bucketShape, type PermitKind, type Grant, type BucketState, type BucketOptions } from './permit-bucket'
export { readImages, batchIdsSetting, DEFAULT_BATCH_IDS, type ImagesRead, type ReadImagesOptions } from './batch-read'
export { readTraits, rememberTraits, forgetTraits, traitsKey, TRAITS_TTL_SECONDS, type UpstreamTraits, type TraitsKV, type TraitsOptions } from './traits'
