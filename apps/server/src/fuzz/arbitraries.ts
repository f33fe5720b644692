import fc from 'fast-check';

/**
 * Generators for the protocol fuzz suite. Each payload is either entirely random, or a well-formed
 * template with one thing wrong (a field replaced by a hostile value, a field dropped, a field
 * added), or the template itself — so the fuzzer reaches the handlers behind validation too, not
 * only the schema check at the door.
 */

/** Values that have broken servers before: prototype keys, NULs, SQL and HTML, huge numbers, near-limit strings. */
const hostileScalar = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u0000'.repeat(64),
    '\uD800',
    '__proto__',
    'constructor',
    'prototype',
    '../../../../etc/passwd',
    "'; drop table users; --",
    '<img src=x onerror=alert(1)>',
    '%00',
    'null',
    'undefined',
    'NaN',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'a'.repeat(4001),
    'x'.repeat(20_000),
    -1,
    0,
    -0,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 31,
    0.5,
    true,
    false,
    null,
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.uuid(),
  fc.integer(),
  fc.double({ noNaN: true }),
);

/** Any JSON-shaped value: what the server can receive after socket.io's or Fastify's JSON parsing. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileScalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString')), tie('value'), { maxKeys: 5 }),
  ),
})).value;

type Template = Record<string, unknown>;

/** The template, or it with exactly one defect. */
export function mutated(template: Template): fc.Arbitrary<unknown> {
  const keys = Object.keys(template);
  const variants: fc.Arbitrary<unknown>[] = [
    fc.constant(template),
    hostileValue,
    fc.tuple(fc.oneof(fc.string({ maxLength: 16 }), fc.constantFrom('__proto__', 'constructor', 'admin', 'fromUserId')), hostileValue).map(
      ([k, v]) => ({ ...template, [k]: v }),
    ),
  ];
  if (keys.length > 0) {
    variants.push(
      fc.tuple(fc.constantFrom(...keys), hostileValue).map(([k, v]) => ({ ...template, [k]: v })),
      fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(template).filter(([key]) => key !== k))),
    );
  }
  return fc.oneof(...variants);
}

/** What the server actually receives: JSON (socket.io and Fastify both parse JSON; undefined and NaN do not survive). */
export function asReceived(payload: unknown): unknown {
  const text = JSON.stringify(payload);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}
