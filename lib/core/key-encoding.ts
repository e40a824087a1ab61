/**
 * S3 Inventory CSV files and S3 event notifications URL-encode object keys: a space is `+`, a
 * literal `+` is `%2B`, other bytes are UTF-8 percent-encoded, `/` stays literal, and some
 * punctuation may be left as is.
 */

/** Decodes a key; throws URIError on a malformed `%` escape or invalid UTF-8. */
export function decodeS3Key(encoded: string): string {
  const spaced = encoded.includes('+') ? encoded.replaceAll('+', ' ') : encoded;
  return spaced.includes('%') ? decodeURIComponent(spaced) : spaced;
}

/** Encodes a key the way S3 writes it into inventory reports and events. */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replaceAll('%20', '+').replaceAll('%2F', '/');
}
