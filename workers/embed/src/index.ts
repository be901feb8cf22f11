/**
 * @module
 * mly-embed: what a static site embeds. `GET /embed/images/:imageId` (an iframe page: one image
 * with its detection overlay), `GET /embed/map-features` (an iframe page: a box's features on a
 * map), `GET /embed/mly.js` (the web components `<mly-detections>` and `<mly-map-features>` as one
 * ES module) and the vendored map library under `/embed/vendor/…`. No upstream access: the pages
 * and elements call the public API from the browser.
 */
import { createTaskApp } from '../../../shared/http/task-app'
import { imageDetectionsPath } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import detectionsElement from './client/mly-detections.js'
import mapFeaturesElement from './client/mly-map-features.js'
import embedCss from './client/embed.css'
import { FAMILY_COLORS } from '../../../shared/svg/class-colors'
import type { Env } from './env'
import { assetHeaders, frameAncestors, pageHeaders } from './headers'
import { imagePage } from './image-page'
import { mapPageRoutes } from './map-page'
import { vendor } from './vendor'

const app = createTaskApp<{ Bindings: Env }>('mly-embed')

// One module for both elements, so a static site needs one <script type="module">; the palette
// of the detection overlays first, from its one source.
const MLY_JS = `const MLY_FAMILY_COLORS = Object.freeze(${JSON.stringify(FAMILY_COLORS)})\n${detectionsElement}\n${mapFeaturesElement}\n`

app.get('/embed/mly.js', (c) => c.body(MLY_JS, 200, assetHeaders('text/javascript; charset=utf-8')))
app.get('/embed/embed.css', (c) => c.body(embedCss, 200, assetHeaders('text/css; charset=utf-8')))

app.get('/embed/images/:imageId', validate('param', imageDetectionsPath), (c) => {
  const { imageId } = c.req.valid('param')
  return c.body(imagePage(imageId), 200, pageHeaders(frameAncestors(c.env.EMBED_ANCESTORS)))
})

// The map page (/embed/map-features) and the bundled Leaflet (/embed/vendor/…).
app.route('/embed', mapPageRoutes)
app.route('/embed/vendor', vendor)

export default app
