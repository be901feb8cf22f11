/**
 * @module
 * Job ids: 128 random bits as 32 lowercase hex digits. An id is the only key to a job (and its
 * result), so it must not be guessable; its shape is checked before any object is touched.
 */

const JOB_ID = /^[0-9a-f]{32}$/

/**
 * @example
 * newJobId() // '3f9c0e5b7a2d4c1e8f6a0b9d2c4e6f81'
 */
export function newJobId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** Whether `id` has the shape of a job id (it may still name no job). */
export function isJobId(id: string | undefined): id is string {
  return id !== undefined && JOB_ID.test(id)
}
