/**
 * @module
 * A colour per Mapillary class family: a value's first `--` segment (`regulatory--stop--g1` →
 * `regulatory`). Twelve families, twelve colours chosen to stay apart from each other and from a
 * street photo's sky, road and foliage when drawn half-transparent.
 */

/** The families in legend order, each with its colour (sRGB hex). Anything else is `other`. */
export const FAMILY_COLORS = {
  regulatory: '#e6194b',
  warning: '#f58231',
  information: '#4363d8',
  complementary: '#42d4f4',
  object: '#911eb4',
  marking: '#ffe119',
  construction: '#9a6324',
  nature: '#3cb44b',
  void: '#808080',
  human: '#f032e6',
  animal: '#bfef45',
  other: '#000075',
} as const

export type ClassFamily = keyof typeof FAMILY_COLORS

/**
 * The family of a class value: its first `--` segment when that is a known family, else `other`.
 *
 * @example
 * classFamily('object--vehicle--car') // 'object'
 * classFamily('spaceship--x')         // 'other'
 */
export function classFamily(value: string): ClassFamily {
  const first = value.split('--', 1)[0]!
  return Object.hasOwn(FAMILY_COLORS, first) ? (first as ClassFamily) : 'other'
}
