// The bundle's stand-ins for Headers, Request and Response, held against Node's own (undici) as the reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as light from './web-primitives';

type Operation = { kind: 'append' | 'set' | 'delete'; name: string; value: string };

const headerName = fc.constantFrom('Content-Type', 'content-type', 'X-Request-Id', 'Set-Cookie', 'set-cookie', 'Vary', 'Allow');
const headerValue = fc.constantFrom('a', ' b ', 'text/plain', 'x=1; Path=/', '', 'POST, OPTIONS', '\tpadded\t');
const operation = fc.record({ kind: fc.constantFrom('append', 'set', 'delete'), name: headerName, value: headerValue });

const apply = (headers: Headers | light.Headers, operations: Operation[]) => {
  for (const { kind, name, value } of operations) {
    if (kind === 'delete') headers.delete(name);
    else headers[kind](name, value);
  }
  return headers;
};

const observe = (headers: Headers | light.Headers) => ({
  entries: [...headers.entries()],
  forEach: (() => {
    const seen: string[] = [];
    headers.forEach((value, name) => seen.push(`${name}=${value}`));
    return seen;
  })(),
  cookies: headers.getSetCookie(),
  contentType: headers.get('CONTENT-TYPE'),
  hasVary: headers.has('vary'),
});

describe('Headers stand-in', () => {
  it('behaves as Node\'s Headers for any sequence of append, set and delete', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 12 }), (operations) => {
        expect(observe(apply(new light.Headers(), operations))).toEqual(observe(apply(new Headers(), operations)));
      }),
    );
  });

  it('copies from a record, pairs and another Headers as Node\'s does', () => {
    const record = { 'Content-Type': 'application/json', 'X-One': ' 1 ' };
    const pairs: [string, string][] = [['set-cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['vary', 'Origin']];
    expect([...new light.Headers(record)]).toEqual([...new Headers(record)]);
    expect([...new light.Headers(pairs)]).toEqual([...new Headers(pairs)]);
    expect([...new light.Headers(new light.Headers(pairs))]).toEqual([...new Headers(new Headers(pairs))]);
  });

  it('refuses the names and values Node refuses, with a TypeError', () => {
    for (const [name, value] of [['bad name', 'x'], ['', 'x'], ['ok', 'line\nbreak'], ['ok', 'nul\0']]) {
      expect(() => new Headers().set(name as string, value as string)).toThrow(TypeError);
      expect(() => new light.Headers().set(name as string, value as string)).toThrow(TypeError);
    }
  });
});

describe('Request stand-in', () => {
  it('keeps url, method, headers and body as Node\'s Request does', async () => {
    const init = { method: 'post', headers: { 'Content-Type': 'application/json' }, body: new TextEncoder().encode('{"a":1}') };
    const [mine, node] = [new light.Request('https://h.example/login?x=1', init), new Request('https://h.example/login?x=1', init)];
    expect([mine.url, mine.method, mine.headers.get('content-type')]).toEqual([node.url, node.method, node.headers.get('content-type')]);
    expect(Boolean(mine.body)).toBe(Boolean(node.body));
    expect(await mine.clone().text()).toBe(await node.clone().text());
    expect(await mine.json()).toEqual(await node.json());
    expect([mine.bodyUsed, node.bodyUsed]).toEqual([true, true]);
    await expect(mine.text()).rejects.toThrow(TypeError);
    await expect(node.text()).rejects.toThrow(TypeError);
  });

  it('has no body without one, and refuses a GET with a body and a bad URL as Node does', () => {
    expect(new light.Request('https://h.example/').body).toBeNull();
    expect(() => new light.Request('https://h.example/', { method: 'GET', body: 'x' })).toThrow(TypeError);
    expect(() => new Request('https://h.example/', { method: 'GET', body: 'x' })).toThrow(TypeError);
    expect(() => new light.Request('https://bad host/')).toThrow(TypeError);
    expect(() => new Request('https://bad host/')).toThrow(TypeError);
  });

  it('hands its body to a new Request once, as a reader would read it', async () => {
    const first = new light.Request('https://h.example/', { method: 'POST', body: 'payload' });
    const reader = first.body?.getReader();
    const chunk = await reader?.read();
    expect(new TextDecoder().decode(chunk?.value)).toBe('payload');
    expect((await reader?.read())?.done).toBe(true);
    expect(first.bodyUsed).toBe(true);
    const passedOn = new light.Request(new light.Request('https://h.example/', { method: 'POST', body: 'again' }));
    expect(await passedOn.text()).toBe('again');
  });

  it('copies a request that has no body, as Node does, without giving it an empty one', () => {
    for (const method of ['GET', 'HEAD', 'DELETE']) {
      const [mine, node] = [new light.Request(new light.Request('https://h.example/', { method })), new Request(new Request('https://h.example/', { method }))];
      expect([mine.method, mine.body, mine.bodyUsed]).toEqual([node.method, node.body, node.bodyUsed]);
    }
  });
});

describe('Response stand-in', () => {
  it('gives status, default content type and body as Node\'s Response does', async () => {
    for (const [body, init] of [['text', { status: 201 }], [null, { status: 204 }], [new Uint8Array([1, 2]), {}]] as const) {
      const [mine, node] = [new light.Response(body, init), new Response(body, init)];
      expect([mine.status, mine.ok, mine.headers.get('content-type'), Boolean(mine.body)]).toEqual([
        node.status,
        node.ok,
        node.headers.get('content-type'),
        Boolean(node.body),
      ]);
      expect(new Uint8Array(await mine.arrayBuffer())).toEqual(new Uint8Array(await node.arrayBuffer()));
    }
  });

  it('reads an empty body as often as asked and a string body with its default type, as Node does', async () => {
    for (const make of [
      (k: typeof light | typeof globalThis) => new k.Response(null, { status: 204 }),
      (k: typeof light | typeof globalThis) => new k.Request('https://h.example/'),
    ]) {
      const [mine, node] = [make(light), make(globalThis)];
      expect([await mine.text(), await mine.text(), mine.bodyUsed]).toEqual([await node.text(), await node.text(), node.bodyUsed]);
    }
    const [mine, node] = [new light.Request('https://h.example/', { method: 'POST', body: 'x' }), new Request('https://h.example/', { method: 'POST', body: 'x' })];
    expect(mine.headers.get('content-type')).toBe(node.headers.get('content-type'));
  });

  it('takes another response\'s body, as Hono does when it replaces c.res', async () => {
    const first = new light.Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
    const second = new light.Response(first.body, first);
    expect(second.status).toBe(200);
    expect(second.headers.get('content-type')).toBe('application/json');
    expect(await second.json()).toEqual({ ok: true });
    expect(first.bodyUsed).toBe(true);
  });

  it('refuses a body on 204 and a status out of range, as Node does', () => {
    expect(() => new light.Response('x', { status: 204 })).toThrow(TypeError);
    expect(() => new Response('x', { status: 204 })).toThrow(TypeError);
    expect(() => new light.Response(null, { status: 600 })).toThrow(RangeError);
    expect(() => new Response(null, { status: 600 })).toThrow(RangeError);
  });

  it('refuses a body it cannot hold instead of sending it as text', () => {
    expect(() => new light.Response(new Blob(['x']) as unknown as string)).toThrow(TypeError);
  });
});
