/**
 * @module
 * The map page's glue (/embed/map-features), after the <mly-map-features> element's code in the
 * same module (/embed/map-page.js): the element fills the frame, and the frame's title follows
 * what it shows, so a reader of the embedding page's outline (or a screen reader) knows.
 */
{
  const element = document.querySelector('mly-map-features')
  if (element) {
    // Set through the CSSOM: the page's CSP allows no inline style attribute.
    element.style.height = '100vh'
    element.addEventListener('mly-load', (event) => {
      const n = event.detail.features.length
      document.title = `${n} map feature${n === 1 ? '' : 's'} in ${element.bbox}`
    })
    element.addEventListener('mly-select', (event) => {
      const value = event.detail.feature.properties?.object_value
      if (value) document.title = `${value}: the images that see it`
    })
    element.addEventListener('mly-error', (event) => {
      document.title = `Map features: ${event.detail.message}`
    })
  }
}
