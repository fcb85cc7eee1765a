/** What form fields hold, as the admin API takes it. */

/** Non-empty lines, trimmed. */
export const lines = (text) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** Words separated by spaces or commas. */
export const words = (text) => text.split(/[\s,]+/).filter(Boolean);

/** A whole number as a number; anything else is sent as typed, so the API names the problem beside the field. */
export const integer = (text) => (/^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text.trim());
