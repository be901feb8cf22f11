/**
 * @module
 * The document as the gateway serves it: openapi.generated.json (made by ./document from the zod
 * schemas, kept current by a unit test) with the origin it is served from as its server. No zod,
 * no generator at run time.
 */
import type { OpenApiDocument } from './document'
import generated from './openapi.generated.json'

/**
 * The OpenAPI 3.1 document served from `origin` (its one server).
 * @example openApiDocument('https://api.example').servers // [{ url: 'https://api.example' }]
 */
export function openApiDocument(origin: string): OpenApiDocument {
  const { openapi, info, ...rest } = generated as unknown as OpenApiDocument
  return { openapi, info, servers: [{ url: origin }], ...rest }
}
