/**
 * @module
 * `GET /embed/images/:imageId`: the HTML page for an `<iframe>` showing one image with its
 * detections, a legend and hover labels. The page is a host for `<mly-detections>` (mly.js), which
 * fetches `/v1/images/{id}/detections` from this origin in the browser and shows loading and error
 * states; the page itself has no inline script or style (strict CSP).
 */
import { escapeHtml } from './escape'

/**
 * The page for one (validated) image id.
 * @example imagePage('361705751724011') // '<!doctype html>…<mly-detections image="361705751724011">…'
 */
export function imagePage(imageId: string): string {
  const id = escapeHtml(imageId)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Detections of image ${id}</title>
<link rel="stylesheet" href="/embed/embed.css">
<script type="module" src="/embed/mly.js"></script>
</head>
<body>
<mly-detections image="${id}"><p>Loading the detections of image ${id}… (this page needs JavaScript)</p></mly-detections>
</body>
</html>
`
}
