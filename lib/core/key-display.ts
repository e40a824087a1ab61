/** The most characters of one key that an error, a log line or a summary shows. */
export const KEY_DISPLAY_LIMIT = 200;

/**
 * A key as errors, logs and summaries show it: whole up to the limit, else its beginning and how
 * much was left out (S3 keys go up to 1,024 bytes, but a report or an event can hold anything).
 */
export function displayKey(key: string, limit = KEY_DISPLAY_LIMIT): string {
  if (key.length <= limit) return key;
  // Never cut a surrogate pair in half.
  const end = /[\uD800-\uDBFF]/.test(key.charAt(limit - 1)) ? limit - 1 : limit;
  return `${key.slice(0, end)}… (${key.length - end} more characters)`;
}
