/**
 * Six JSON schemas that exercise the compiler's subset (issue 16's list), shared by the tests
 * (test/grammar/) and the bench (src/bench/grammarMask.ts).
 */
export const EXAMPLE_SCHEMAS: Record<string, Record<string, unknown>> = {
  nested: {
    type: 'object',
    properties: {
      user: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 10 },
          address: { type: 'object', properties: { city: { type: 'string', maxLength: 8 }, zip: { type: 'string', pattern: '^[0-9]{5}$' } }, required: ['city', 'zip'] },
        },
        required: ['name', 'address'],
      },
    },
    required: ['user'],
  },
  arrays: {
    type: 'object',
    properties: { tags: { type: 'array', items: { type: 'string', maxLength: 6 }, minItems: 2, maxItems: 4 }, scores: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 9 }, maxItems: 3 } },
    required: ['tags', 'scores'],
    additionalProperties: false,
  },
  enums: {
    type: 'object',
    properties: { color: { enum: ['red', 'green', 'blue'] }, size: { type: 'string', enum: ['S', 'M', 'L'] }, flag: { enum: [true, null, 3] } },
    required: ['color', 'size', 'flag'],
  },
  ranges: {
    type: 'object',
    properties: {
      age: { type: 'integer', minimum: 18, maximum: 99 },
      temp: { type: 'number', minimum: -20, maximum: 45 },
      count: { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 1000 },
      delta: { type: 'integer', minimum: -50, maximum: -5 },
      ratio: { type: 'number', minimum: 0.5, exclusiveMaximum: 2.25 },
    },
    required: ['age', 'temp', 'count', 'delta', 'ratio'],
  },
  strings: {
    type: 'object',
    properties: {
      code: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{2,4}$' },
      note: { type: 'string', maxLength: 15 },
      email: { type: 'string', pattern: '^[a-z]{1,8}@[a-z]{1,8}\\.(com|org)$' },
    },
    required: ['code', 'note', 'email'],
  },
  closed: {
    type: 'object',
    properties: { id: { type: 'integer' }, name: { type: 'string', maxLength: 10 }, active: { type: 'boolean' }, score: { type: 'number' } },
    required: ['id', 'name'],
    additionalProperties: false,
  },
};

/** Arithmetic expressions in GBNF: a small language with recursion through parentheses. */
export const ARITHMETIC_GBNF = `# integers, + - * /, parentheses
root   ::= expr
expr   ::= term (("+" | "-") term){0,3}
term   ::= factor (("*" | "/") factor){0,2}
factor ::= [1-9] [0-9]{0,2} | "(" expr ")"
`;
