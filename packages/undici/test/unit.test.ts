import { Readable } from 'node:stream';
import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import { EndpointOrigins, endpointOrigin } from '../src/balanced-request.js';
import { canReplayBody, classify, errorCode, isIdempotent } from '../src/classify.js';
import { withHostHeader } from '../src/headers.js';
import { endpoint } from './support.js';

describe('withHostHeader', () => {
  it('adds host in every header shape undici accepts, without touching the input', () => {
    const object = { accept: 'a' };
    expect(withHostHeader(object, 'web:80')).toEqual({ host: 'web:80', accept: 'a' });
    expect(object).toEqual({ accept: 'a' });
    expect(withHostHeader(null, 'web')).toEqual({ host: 'web' });
    expect(withHostHeader(undefined, 'web')).toEqual({ host: 'web' });
    expect(withHostHeader(['accept', 'a'], 'web')).toEqual(['host', 'web', 'accept', 'a']);
    expect(withHostHeader([['accept', 'a']] as never, 'web')).toEqual(['host', 'web', 'accept', 'a']);
    expect(withHostHeader(new Map([['accept', 'a']]) as never, 'web')).toEqual([
      'host',
      'web',
      'accept',
      'a',
    ]);
    expect(withHostHeader(new Headers({ accept: 'a' }) as never, 'web')).toEqual([
      'host',
      'web',
      'accept',
      'a',
    ]);
  });

  it('keeps a host header the caller set, in any case', () => {
    expect(withHostHeader({ Host: 'mine' }, 'web')).toEqual({ Host: 'mine' });
    expect(withHostHeader(['HOST', 'mine'], 'web')).toEqual(['HOST', 'mine']);
    // an undefined value is no header
    expect(withHostHeader({ host: undefined } as never, 'web')).toEqual({ host: 'web' });
  });
});

describe('endpointOrigin', () => {
  it('brackets IPv6 and keeps the scheme', () => {
    expect(endpointOrigin('http:', endpoint('10.0.0.1', 8080))).toBe('http://10.0.0.1:8080');
    expect(endpointOrigin('https:', endpoint('fd00::1', 8443))).toBe('https://[fd00::1]:8443');
  });

  it('is made once per endpoint key and protocol by EndpointOrigins', () => {
    const https = new EndpointOrigins('https:');
    const first = https.of('[fd00::1]:8443', endpoint('fd00::1', 8443));
    expect(first).toBe('https://[fd00::1]:8443');
    // Cached by key: the same string again, even for an endpoint object read later.
    expect(https.of('[fd00::1]:8443', { ...endpoint('fd00::1', 8443) })).toBe(first);
    expect(new EndpointOrigins('http:').of('10.0.0.1:80', endpoint('10.0.0.1', 80))).toBe(
      'http://10.0.0.1:80',
    );
    // Bounded: past 10 000 keys it starts over and still answers right.
    for (let i = 0; i < 10_050; i++)
      https.of(`10.0.${i >> 8}.${i & 255}:1`, endpoint(`10.0.${i >> 8}.${i & 255}`, 1));
    expect(https.of('10.0.39.66:1', endpoint('10.0.39.66', 1))).toBe('https://10.0.39.66:1');
  });
});

describe('classify', () => {
  const coded = (code: string) => Object.assign(new Error(code), { code });

  it('retries connection failures before sending, whatever they are', () => {
    expect(classify(coded('ECONNREFUSED'), 'connect')).toEqual({
      failure: 'connect',
      retryable: true,
      code: 'ECONNREFUSED',
    });
    expect(classify(new errors.ConnectTimeoutError(), 'connect')).toMatchObject({
      failure: 'timeout',
      retryable: true,
    });
    expect(classify(coded('EHOSTUNREACH'), 'connect')).toMatchObject({ failure: 'connect', retryable: true });
    // a certificate problem is reported but not retried
    expect(classify(coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'connect')).toMatchObject({
      failure: 'connect',
      retryable: false,
    });
  });

  it('retries resets after sending only in the sent phase, never timeouts or after headers', () => {
    expect(classify(new errors.SocketError('other side closed'), 'sent')).toMatchObject({
      failure: 'reset',
      retryable: true,
    });
    expect(classify(coded('ECONNRESET'), 'sent')).toMatchObject({ failure: 'reset', retryable: true });
    expect(classify(new errors.HeadersTimeoutError(), 'sent')).toMatchObject({
      failure: 'timeout',
      retryable: false,
    });
    expect(classify(new errors.SocketError('x'), 'response')).toMatchObject({
      failure: 'reset',
      retryable: false,
    });
    expect(classify(new errors.BodyTimeoutError(), 'response')).toMatchObject({
      failure: 'timeout',
      retryable: false,
    });
  });

  it('treats the caller’s own errors and aborts as neutral', () => {
    expect(classify(new errors.InvalidArgumentError('bad'), 'connect')).toMatchObject({
      failure: undefined,
      retryable: false,
    });
    expect(classify(new errors.RequestAbortedError(), 'sent')).toMatchObject({ failure: undefined });
    expect(classify(new DOMException('stop', 'AbortError'), 'sent')).toMatchObject({ failure: undefined });
    expect(classify(new DOMException('late', 'TimeoutError'), 'sent')).toMatchObject({
      failure: 'timeout',
      retryable: false,
    });
  });

  it('reads the status of a response an interceptor below turned into an error: only a 5xx is the pod’s failure', () => {
    const notFound = new errors.ResponseError('Response Error', 404, { headers: {}, body: '' });
    expect(classify(notFound, 'sent')).toEqual({
      failure: undefined,
      retryable: false,
      code: 'UND_ERR_RESPONSE',
    });
    // undici's typings name the third argument `headers`; at run time it is `{ headers, data }`.
    const unavailable = new errors.RequestRetryError('Request failed', 503, {});
    expect(classify(unavailable, 'sent')).toEqual({
      failure: 'status5xx',
      retryable: false,
      code: 'UND_ERR_REQ_RETRY',
    });
  });

  it('finds the code of an AggregateError (happy eyeballs)', () => {
    expect(errorCode(new AggregateError([coded('ECONNREFUSED')]))).toBe('ECONNREFUSED');
    expect(errorCode('nope')).toBeUndefined();
  });
});

describe('isIdempotent', () => {
  it('follows RFC 9110 unless the caller says otherwise', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
      expect(isIdempotent(method, undefined)).toBe(true);
    for (const method of ['POST', 'PATCH', 'CONNECT']) expect(isIdempotent(method, undefined)).toBe(false);
    expect(isIdempotent('POST', true)).toBe(true);
    expect(isIdempotent('GET', false)).toBe(false);
  });
});

describe('canReplayBody', () => {
  it('replays bodies that can be sent again; one-shot ones only before anything was read', () => {
    for (const body of [
      undefined,
      null,
      'text',
      Buffer.from('b'),
      new Uint8Array(2),
      new ArrayBuffer(2),
      ['a'],
      new Blob(['x']),
    ]) {
      expect(canReplayBody(body, true)).toBe(true);
    }
    const fresh = Readable.from(['a']);
    expect(canReplayBody(fresh, false)).toBe(true);
    expect(canReplayBody(fresh, true)).toBe(false);
    const read = Readable.from(['a']);
    read.read();
    expect(canReplayBody(read, false)).toBe(false);
    const destroyed = Readable.from(['a']);
    destroyed.destroy();
    expect(canReplayBody(destroyed, false)).toBe(false);
    async function* generator() {
      yield 'a';
    }
    expect(canReplayBody(generator(), false)).toBe(true);
    expect(canReplayBody(generator(), true)).toBe(false);
  });
});
