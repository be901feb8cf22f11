/**
 * @module
 * HTML escaping for what a page writes from user input (ids, query values).
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * Text safe inside HTML text and double- or single-quoted attribute values.
 * @example escapeHtml('"><script>') // '&quot;&gt;&lt;script&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]!)
}
