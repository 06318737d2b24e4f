import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reviveError, serializeError } from '../../src/api/errorTransfer.ts';
import { AuthError, NetworkError } from '../../src/errors.ts';
import { errorInfo, retryAfterSeconds } from '../../src/remote/httpErrors.ts';
import { SseParser } from '../../src/remote/sse.ts';

const parseAll = (pieces: string[]) => {
  const p = new SseParser();
  return pieces.flatMap((t) => p.push(t).map((e) => e.data));
};

describe('server-sent events', () => {
  it('reads data lines, joins a multi-line event, skips comments and other fields', () => {
    const text = ': keep-alive\n\nevent: x\nid: 3\ndata: {"a":1}\n\ndata:first\ndata: second\n\nretry: 10\n\ndata: [DONE]\n\n';
    expect(parseAll([text])).toEqual(['{"a":1}', 'first\nsecond', '[DONE]']);
  });

  it('any split of the stream into reads, and any of LF, CRLF or CR, gives the same events (property)', () => {
    const events = ['{"x":"a b"}', 'é ✓ 𝄞', '', '[DONE]'].filter((d) => d !== '');
    fc.assert(
      fc.property(fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(), { maxLength: 8 }), (eol, cuts) => {
        const text = events.map((d) => `data: ${d}${eol}${eol}`).join('');
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at].map((start, i) => text.slice(start, [...at, text.length][i]));
        expect(parseAll(pieces)).toEqual(events);
      }),
    );
  });

  it('knows when a stream stopped mid-event', () => {
    const p = new SseParser();
    p.push('data: {"a":1}\n\ndata: {"b"');
    expect(p.midEvent).toBe(true);
    p.push(':2}\n\n');
    expect(p.midEvent).toBe(false);
  });
});

describe('error bodies and Retry-After', () => {
  it("reads vLLM's nested body, its older flat one, and its auth middleware's string", () => {
    expect(errorInfo({ error: { message: 'm', type: 'BadRequestError', param: 'top_p', code: 400 } })).toEqual({ message: 'm', type: 'BadRequestError', param: 'top_p', status: 400 });
    expect(errorInfo({ object: 'error', message: 'm', type: 'NotFoundError', param: 'model', code: 404 })).toEqual({ message: 'm', type: 'NotFoundError', param: 'model', status: 404 });
    expect(errorInfo({ error: 'Unauthorized' })).toEqual({ message: 'Unauthorized', type: null, param: null, status: null });
    expect(errorInfo({ choices: [] })).toBeNull();
  });

  it('takes seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(retryAfterSeconds('7', now)).toBe(7);
    expect(retryAfterSeconds('Mon, 30 Nov 2026 12:00:30 GMT', now)).toBe(30);
    expect(retryAfterSeconds('soon', now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
  });

  it('a NetworkError keeps its status, Retry-After and partial text across the worker; AuthError its class', () => {
    const n = reviveError(structuredClone(serializeError(new NetworkError('http://h/v1/completions', 'dropped', { status: 503, retryAfterSeconds: 4, partialText: ['Once upon', ''] }))));
    expect(n).toBeInstanceOf(NetworkError);
    expect(n).toMatchObject({ status: 503, retryAfterSeconds: 4, partialText: ['Once upon', ''], code: 'NETWORK' });
    const a = reviveError(structuredClone(serializeError(new AuthError('http://h/v1/models', 401, 'Unauthorized'))));
    expect(a).toBeInstanceOf(AuthError);
    expect(a).toMatchObject({ name: 'AuthError', code: 'AUTH', status: 401 });
  });
});
