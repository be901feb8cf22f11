/** @module Types of scripts/key.mjs (plain JavaScript, so `node` runs it as is), for its test. */
export interface KeyRecord {
  id: string
  name: string
  limit?: number
  created_at: string
}
export function newKey(name: string, options?: { limit?: number; now?: Date }): { key: string; recordName: string; record: KeyRecord }
export type KeyArgs =
  | { error: string }
  | { error?: undefined; command: 'create' | 'list' | 'revoke'; name?: string; limit?: number; remote: boolean; persistTo?: string }
export function parseArgs(argv: string[]): KeyArgs
