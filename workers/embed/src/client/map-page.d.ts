// The file beside this one, imported as text (wrangler.toml [[rules]] type = "Text").
declare const text: string
export default text
