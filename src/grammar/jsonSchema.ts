import { GrammarError } from '../errors.ts';
import { charClass, JSON_CHAR_RANGES, literal } from './gbnfText.ts';
import { type Bound, integerRange, MAX_DIGITS, numberRange } from './numberRange.ts';
import { patternToGbnf } from './regex.ts';

/**
 * JSON in GBNF, compact (no whitespace between tokens: a model that knows nothing of JSON would
 * otherwise wander in blanks), shared by the schema compiler and `json_object`.
 */
export const JSON_RULES = [
  `json-char ::= ${charClass(JSON_CHAR_RANGES)} | "\\\\" ( ["\\\\/bfnrt] | "u" [0-9a-fA-F]{4} )`,
  'json-string ::= "\\"" json-char* "\\""',
  `json-int ::= "-"? ( "0" | [1-9] [0-9]{0,${MAX_DIGITS - 1}} )`,
  'json-number ::= json-int ( "." [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,3} )?',
  'json-value ::= json-object | json-array | json-string | json-number | "true" | "false" | "null"',
  'json-object ::= "{" ( json-string ":" json-value ( "," json-string ":" json-value )* )? "}"',
  'json-array ::= "[" ( json-value ( "," json-value )* )? "]"',
];

/** `response_format: {type: 'json_object'}`: any JSON object. */
export function jsonObjectGbnf(): string {
  return ['root ::= json-object', ...JSON_RULES].join('\n');
}

/** Keywords that only annotate: they never change which values are valid. */
const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id', '$comment', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly']);
const SUPPORTED = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'enum', 'const', 'anyOf',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'pattern', 'minLength', 'maxLength', '$defs', 'definitions', '$ref',
]);

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Compiles a JSON schema to GBNF whose every sentence is a JSON text the schema accepts. The
 * subset: `type` (one or a list), object `properties` in their declared order with `required`
 * (optional ones may be left out; no other properties are written, which `additionalProperties`
 * of any value allows), arrays with `items`, `minItems`, `maxItems`, `enum`, `const`, `anyOf`,
 * integer and number `minimum`/`maximum` (exclusive too; any finite bounds: src/grammar/numberRange.ts),
 * strings with `minLength`/`maxLength` or a `pattern` (src/grammar/regex.ts), and local `$ref`s
 * into `$defs`. Anything else that constrains values is refused with a GrammarError naming it.
 */
export function schemaToGbnf(schema: unknown, param = 'response_format.json_schema.schema'): string {
  return new SchemaCompiler(schema, param).compile();
}

class SchemaCompiler {
  private readonly rules: string[] = [];
  private readonly refs = new Map<string, string>();
  private n = 0;

  constructor(
    private readonly root: unknown,
    private readonly param: string,
  ) {}

  private refuse(construct: string, at: string, why = `${construct} is not supported in a constrained schema`): never {
    throw new GrammarError(this.param, construct, `${at}: ${why}`);
  }

  compile(): string {
    const body = this.value(this.root, '$');
    return [`root ::= ${body}`, ...this.rules, ...JSON_RULES].join('\n');
  }

  private rule(body: string): string {
    const name = `s${this.n++}`;
    this.rules.push(`${name} ::= ${body}`);
    return name;
  }

  /** A GBNF expression for the values `s` accepts. */
  private value(s: unknown, at: string): string {
    if (s === true || (isObject(s) && Object.keys(s).every((k) => ANNOTATIONS.has(k)))) return 'json-value';
    if (s === false) this.refuse('false schema', at, 'the schema false accepts no value');
    if (!isObject(s)) this.refuse('schema', at, `a schema must be an object or a boolean, got ${JSON.stringify(s)}`);
    for (const k of Object.keys(s)) if (!ANNOTATIONS.has(k) && !SUPPORTED.has(k)) this.refuse(k, `${at}.${k}`);
    if (typeof s.$ref === 'string') return this.ref(s.$ref, at);
    if ('enum' in s) {
      if (!Array.isArray(s.enum) || s.enum.length === 0) this.refuse('enum', at, 'enum must be a non-empty array');
      return `( ${s.enum.map((v) => literal(JSON.stringify(v))).join(' | ')} )`;
    }
    if ('const' in s) return literal(JSON.stringify(s.const));
    if (Array.isArray(s.anyOf)) return `( ${s.anyOf.map((sub, i) => this.value(sub, `${at}.anyOf[${i}]`)).join(' | ')} )`;
    const types = Array.isArray(s.type) ? s.type : s.type === undefined ? null : [s.type];
    if (!types) return this.untyped(s, at);
    const alts = types.map((t) => this.typed(String(t), s, at));
    return alts.length === 1 ? alts[0] : `( ${alts.join(' | ')} )`;
  }

  /** Keywords without `type`: properties imply an object, items an array; else any JSON value. */
  private untyped(s: Schema, at: string): string {
    if ('properties' in s) return this.typed('object', s, at);
    if ('items' in s) return this.typed('array', s, at);
    if (['pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'required'].some((k) => k in s)) {
      this.refuse('keywords without type', at, 'give a type with these keywords');
    }
    return 'json-value';
  }

  private ref(ref: string, at: string): string {
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    if (!m) this.refuse('$ref', at, `only local references to #/$defs/NAME are supported, got ${ref}`);
    const hit = this.refs.get(ref);
    if (hit) return hit;
    const defs = isObject(this.root) ? this.root[m[1]] : undefined;
    const target = isObject(defs) ? defs[m[2]] : undefined;
    if (target === undefined) this.refuse('$ref', at, `${ref} is not defined`);
    const name = `s${this.n++}`;
    this.refs.set(ref, name);
    this.rules.push(`${name} ::= ${this.value(target, ref)}`);
    return name;
  }

  private typed(type: string, s: Schema, at: string): string {
    switch (type) {
      case 'null': return '"null"';
      case 'boolean': return '( "true" | "false" )';
      case 'string': return this.string(s, at);
      case 'integer': return this.number(s, at, true);
      case 'number': return this.number(s, at, false);
      case 'array': return this.array(s, at);
      case 'object': return this.object(s, at);
      default: return this.refuse(`type ${type}`, at);
    }
  }

  private count(s: Schema, key: string, at: string): number | undefined {
    const v = s[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.refuse(key, at, `${key} must be an integer >= 0`);
    return v;
  }

  private string(s: Schema, at: string): string {
    const min = this.count(s, 'minLength', at) ?? 0;
    const max = this.count(s, 'maxLength', at) ?? Infinity;
    if (max < min) this.refuse('maxLength', at, 'maxLength is below minLength');
    if (typeof s.pattern === 'string') {
      if ('minLength' in s || 'maxLength' in s) this.refuse('pattern with minLength or maxLength', at);
      return `"\\"" ${this.rule(patternToGbnf(s.pattern, this.param, `${at}.pattern`))} "\\""`;
    }
    if (s.pattern !== undefined) this.refuse('pattern', at, 'pattern must be a string');
    const reps = max === Infinity ? (min === 0 ? '*' : `{${min},}`) : `{${min},${max}}`;
    return min === 0 && max === Infinity ? 'json-string' : `"\\"" json-char${reps} "\\""`;
  }

  private bound(s: Schema, key: string, at: string): number | undefined {
    const v = s[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.refuse(key, at, `${key} must be a finite number`);
    return v;
  }

  private number(s: Schema, at: string, integer: boolean): string {
    let min = this.bound(s, 'minimum', at) ?? -Infinity;
    let max = this.bound(s, 'maximum', at) ?? Infinity;
    const xmin = this.bound(s, 'exclusiveMinimum', at);
    const xmax = this.bound(s, 'exclusiveMaximum', at);
    if (integer) {
      min = Math.max(Math.ceil(min), xmin === undefined ? -Infinity : Math.floor(xmin) + 1);
      max = Math.min(Math.floor(max), xmax === undefined ? Infinity : Math.ceil(xmax) - 1);
      if (min === -Infinity && max === Infinity) return 'json-int';
      if (max < min) this.refuse('minimum above maximum', at, 'no value lies in the range');
      return this.rule(integerRange(min, max).join(' | '));
    }
    // The tighter of each pair; an exclusive bound equal to an inclusive one wins.
    const lo: Bound | null = xmin !== undefined && xmin >= min ? { value: xmin, exclusive: true } : min === -Infinity ? null : { value: min, exclusive: false };
    const hi: Bound | null = xmax !== undefined && xmax <= max ? { value: xmax, exclusive: true } : max === Infinity ? null : { value: max, exclusive: false };
    if (!lo && !hi) return 'json-number';
    if (lo && hi && (lo.value > hi.value || (lo.value === hi.value && (lo.exclusive || hi.exclusive)))) this.refuse('minimum above maximum', at, 'no value lies in the range');
    const alts = numberRange(lo, hi);
    if (alts.length === 0) this.refuse('number range', at, 'no number of up to 6 fraction digits lies in the range');
    return this.rule(alts.join(' | '));
  }

  private array(s: Schema, at: string): string {
    const item = s.items === undefined ? 'json-value' : this.value(s.items, `${at}.items`);
    const itemRule = item.includes(' ') ? this.rule(item) : item;
    const min = this.count(s, 'minItems', at) ?? 0;
    const max = this.count(s, 'maxItems', at) ?? Infinity;
    if (max < min) this.refuse('maxItems', at, 'maxItems is below minItems');
    if (max === 0) return '"[]"';
    const more = max === Infinity ? `{${Math.max(0, min - 1)},}` : `{${Math.max(0, min - 1)},${max - 1}}`;
    const list = `${itemRule} ( "," ${itemRule} )${more}`;
    return min === 0 ? `"[" ( ${list} )? "]"` : `"[" ${list} "]"`;
  }

  private object(s: Schema, at: string): string {
    const props = s.properties === undefined ? {} : s.properties;
    if (!isObject(props)) this.refuse('properties', at, 'properties must be an object');
    const required = s.required === undefined ? [] : s.required;
    if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) this.refuse('required', at, 'required must be an array of names');
    for (const r of required) if (!(r in props)) this.refuse('required', at, `required names ${r}, which is not among properties (it could not be written)`);
    const names = Object.keys(props);
    if (names.length === 0) return s.additionalProperties === false ? '"{}"' : 'json-object';
    const fields = names.map((k) => `${literal(`${JSON.stringify(k)}:`)} ${this.value(props[k], `${at}.properties.${k}`)}`);
    // rest[i][first]: the properties from i on, `first` when none was written before (no comma).
    const memo = new Map<string, string>();
    const rest = (i: number, first: boolean): string => {
      if (i === names.length) return '';
      const key = `${i}:${first}`;
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
      const take = `${first ? '' : '"," '}${fields[i]} ${rest(i + 1, false)}`.trim();
      const body = required.includes(names[i]) ? take : `${take} | ${rest(i + 1, first) || '""'}`;
      const name = this.rule(body);
      memo.set(key, name);
      return name;
    };
    return `"{" ${rest(0, true)} "}"`;
  }
}
