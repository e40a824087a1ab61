import type { Json } from './cloudformation.ts';

/**
 * Whether an EventBridge event pattern matches an event, for the rules the stack writes: nested
 * fields, arrays of exact values, and `prefix`, `suffix`, `wildcard`, `anything-but` and `exists`
 * matchers (EventBridge's documented semantics; an event's array field matches when any of its
 * elements does). No maintained JavaScript implementation is published (AWS's own, Event Ruler, is
 * Java); the emulator has no EventBridge. Throws on a matcher it does not know rather than guess.
 */
export function matchesPattern(pattern: Json, event: Json): boolean {
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern))
    throw new Error(`not a pattern: ${JSON.stringify(pattern)}`);
  return Object.entries(pattern).every(([field, expected]) => {
    const value = event !== null && typeof event === 'object' && !Array.isArray(event) ? event[field] : undefined;
    if (Array.isArray(expected)) return expected.some((matcher) => matchesValue(matcher, value));
    return value !== undefined && matchesPattern(expected, value);
  });
}

function matchesValue(matcher: Json, value: Json | undefined): boolean {
  if (Array.isArray(value)) return value.some((item) => matchesValue(matcher, item));
  if (matcher === null || typeof matcher !== 'object') return value !== undefined && matcher === value;
  const [[kind, operand] = []] = Object.entries(matcher as Record<string, Json>);
  if (kind === 'exists') return (value !== undefined) === operand;
  if (typeof value !== 'string') return false;
  switch (kind) {
    case 'prefix':
      return value.startsWith(operand as string);
    case 'suffix':
      return value.endsWith(operand as string);
    case 'wildcard':
      return wildcard(operand as string).test(value);
    case 'anything-but':
      return !(Array.isArray(operand) ? operand : [operand]).includes(value);
    default:
      throw new Error(`matcher ${JSON.stringify(matcher)} is not known here`);
  }
}

/** `*` matches any characters, `/` included; `\*` and `\\` are literal. */
function wildcard(pattern: string): RegExp {
  const parts = pattern
    .split(/(\\\\|\\\*|\*)/)
    .map((part) => (part === '*' ? '.*' : part.replace(/^\\/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('')}$`, 's');
}
