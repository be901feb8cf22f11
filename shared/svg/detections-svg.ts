/**
 * @module
 * An image's detections as one SVG document: the thumbnail as background, one `<path>` per polygon
 * in image pixels (holes by `fill-rule="evenodd"`), a colour per class family, a legend and hover
 * labels. Pure text out: no script, every upstream string escaped, only http(s) URLs linked.
 */
import type { Polygon, Position } from 'geojson'
import type { PixelGeometry } from '../mvt/pixel-geometry'
import { classFamily, FAMILY_COLORS, type ClassFamily } from './class-colors'
import { escapeXml, safeHttpUrl } from './escape'

export interface SvgImage {
  id: string
  /** The image's size in pixels: the viewBox, and the space of every pixel geometry. */
  width: number
  height: number
  /** The background picture; null (or not http(s)) draws a plain grey background instead. */
  thumbUrl: string | null
}

export interface SvgDetection {
  id: string
  value: string
  /** As the detection routes answer it; null (undecodable) is left out of the drawing. */
  pixel_geometry: PixelGeometry | null
}

export interface DetectionsSvgOptions {
  /** Displayed width in CSS pixels (height scaled to the image's ratio). Default: the image's width. */
  width?: number
  /** `<title>` hover labels (each detection's value). Default true. */
  labels?: boolean
  /** Fill opacity, 0–1. Default {@link DEFAULT_OPACITY}. */
  opacity?: number
  /** Outline width in displayed pixels (0: none). Default {@link DEFAULT_STROKE}. */
  stroke?: number
  /** Draw only detections whose value is one of these (exact). Default: all. */
  values?: readonly string[]
}

export const DEFAULT_OPACITY = 0.35
export const DEFAULT_STROKE = 2

/**
 * The SVG of `image` with `detections` drawn over it (see the module comment). The legend, in the
 * bottom-left corner, lists each drawn family with its count, or says there are none.
 *
 * @example
 * const svg = detectionsSvg(
 *   { id: '1', width: 4032, height: 3024, thumbUrl: 'https://example.com/t.jpg' },
 *   [{ id: '9', value: 'regulatory--stop--g1', pixel_geometry: { type: 'Polygon', coordinates: [[[10, 10], [90, 10], [90, 90], [10, 10]]] } }],
 *   { width: 640, opacity: 0.5 },
 * ) // '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4032 3024" width="640" height="480" …'
 */
export function detectionsSvg(image: SvgImage, detections: readonly SvgDetection[], options: DetectionsSvgOptions = {}): string {
  const { width: W, height: H } = image
  const labels = options.labels ?? true
  const opacity = options.opacity ?? DEFAULT_OPACITY
  const stroke = options.stroke ?? DEFAULT_STROKE
  const wanted = options.values ? new Set(options.values) : null
  const displayWidth = options.width ?? W
  const displayHeight = Math.max(1, Math.round((displayWidth * H) / W))

  const drawn = detections.filter((d) => d.pixel_geometry !== null && (wanted === null || wanted.has(d.value)))
  const counts = new Map<ClassFamily, number>()
  const shapes = drawn.map((d) => {
    const family = classFamily(d.value)
    counts.set(family, (counts.get(family) ?? 0) + 1)
    const colour = FAMILY_COLORS[family]
    const polygons = d.pixel_geometry!.type === 'Polygon' ? [d.pixel_geometry!.coordinates] : d.pixel_geometry!.coordinates
    const paint = `fill="${colour}" fill-opacity="${num(opacity)}" fill-rule="evenodd"` + (stroke > 0 ? ` stroke="${colour}" stroke-width="${num(stroke)}" vector-effect="non-scaling-stroke" stroke-linejoin="round"` : ' stroke="none"')
    const paths = polygons.map((rings) => `<path d="${pathData(rings)}" ${paint}/>`).join('')
    const title = labels ? `<title>${escapeXml(d.value)}</title>` : ''
    return `<g class="detection" data-id="${escapeXml(d.id)}" data-value="${escapeXml(d.value)}" data-family="${family}">${title}${paths}</g>`
  })

  const href = safeHttpUrl(image.thumbUrl)
  const background = href
    ? `<image href="${escapeXml(href)}" x="0" y="0" width="${W}" height="${H}" preserveAspectRatio="none"/>`
    : `<rect x="0" y="0" width="${W}" height="${H}" fill="#d0d0d0"/>`
  const name = `Detections of image ${escapeXml(image.id)}`
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${num(displayWidth)}" height="${displayHeight}" role="img" aria-label="${name}">` +
    (labels ? `<title>${name}</title>` : '') +
    background +
    `<g class="detections">${shapes.join('')}</g>` +
    legend(counts, W, H) +
    '</svg>'
  )
}

/** One subpath per ring, closing point dropped for `Z`: exterior and holes in one `d`. */
function pathData(rings: Polygon['coordinates']): string {
  return rings
    .map((ring) => {
      const open = ring.length > 1 && samePoint(ring[0]!, ring[ring.length - 1]!) ? ring.slice(0, -1) : ring
      return open.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(p[0]!)} ${num(p[1]!)}`).join('') + 'Z'
    })
    .join('')
}

function samePoint(a: Position, b: Position): boolean {
  return a[0] === b[0] && a[1] === b[1]
}

/** At most two decimals: a hundredth of an image pixel is finer than any thumbnail shows. */
function num(n: number): string {
  return String(Math.round(n * 100) / 100)
}

/** Bottom-left box, font sized to the image (about a 30th of its short side) so it reads at any width. */
function legend(counts: ReadonlyMap<ClassFamily, number>, W: number, H: number): string {
  const font = Math.max(8, Math.round(Math.min(W, H) / 30))
  const line = Math.round(font * 1.4)
  const pad = Math.round(font / 2)
  const entries = (Object.keys(FAMILY_COLORS) as ClassFamily[]).filter((f) => counts.has(f))
  const rows = entries.length === 0 ? [{ text: 'no detections', colour: null }] : entries.map((f) => ({ text: `${f} (${counts.get(f)})`, colour: FAMILY_COLORS[f] }))
  const boxWidth = pad * 3 + font + Math.round(font * 0.62 * Math.max(...rows.map((r) => r.text.length)))
  const boxHeight = pad * 2 + line * rows.length
  const top = H - boxHeight - pad
  const items = rows.map((r, i) => {
    const y = top + pad + line * i
    const swatch = r.colour ? `<rect x="${pad * 2}" y="${y + Math.round((line - font) / 2)}" width="${font}" height="${font}" fill="${r.colour}"/>` : ''
    return `<g class="legend-entry">${swatch}<text x="${pad * 3 + font}" y="${y + Math.round(line * 0.75)}">${escapeXml(r.text)}</text></g>`
  })
  return (
    `<g class="legend" font-family="sans-serif" font-size="${font}" fill="#ffffff" pointer-events="none">` +
    `<rect x="${pad}" y="${top}" width="${boxWidth}" height="${boxHeight}" rx="${pad}" fill="#000000" fill-opacity="0.6"/>` +
    items.join('') +
    '</g>'
  )
}
