// Ovis1.6 special ids (Ovis `constants.py`): negative ids never reach the LLM embedding.
// `<image>` in text becomes IMAGE_TOKEN_ID; preprocessing expands it into indicator ids and
// atoms, each atom standing for one crop's 196 visual tokens.

export const IMAGE_TOKEN = '<image>';
export const IMAGE_TOKEN_ID = -200;
export const IMAGE_ATOM_ID = -300;
/** I0..I4 = -301..-305. HF maps -301 to visual-vocab row V-5, ..., -305 to row V-1. */
export const IMAGE_INDICATOR_IDS = [-301, -302, -303, -304, -305] as const;
