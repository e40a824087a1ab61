import { describe, expect, it } from 'vitest';
import { displayKey, KEY_DISPLAY_LIMIT } from '../../lib/core/key-display.ts';

describe('displayKey', () => {
  it('shows a key of up to the limit whole', () => {
    const key = 'a'.repeat(KEY_DISPLAY_LIMIT);
    expect(displayKey(key)).toBe(key);
  });

  it('shows the beginning of a longer key and how much was left out', () => {
    expect(displayKey('x'.repeat(1_048_577))).toBe(`${'x'.repeat(KEY_DISPLAY_LIMIT)}… (${1_048_577 - KEY_DISPLAY_LIMIT} more characters)`);
  });

  it('never cuts a character outside the Basic Multilingual Plane in half', () => {
    const shown = displayKey(`${'a'.repeat(KEY_DISPLAY_LIMIT - 1)}😀tail`);
    expect(shown.startsWith(`${'a'.repeat(KEY_DISPLAY_LIMIT - 1)}…`)).toBe(true);
    expect(shown).toContain('(6 more characters)');
  });
});
