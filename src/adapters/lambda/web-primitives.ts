// Small stand-ins for the Fetch API's Headers, Request and Response, injected into the Lambda bundle in place of
// Node's globals (scripts/lambda-bundle.mjs, esbuild `inject`). Node builds those globals from its bundled undici
// on first touch, which costs a cold start about 30-40 ms (measured: `new Headers()` alone adds ~28 ms to an empty
// start here) before a single request is served. An API Gateway event already holds its whole body as a string
// and the result is plain JSON, so nothing on this path needs streams: these classes keep bodies as bytes and do
// only what Hono and hono/aws-lambda use. The local server keeps the real ones (@hono/node-server needs them).

type HeadersInit = Headers | Record<string, string> | Iterable<readonly [string, string]>;
// RFC 9110 token characters: what a header name may be made of (undici throws a TypeError for anything else).
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Header values are trimmed of HTTP whitespace; NUL, CR and LF are refused, as the Fetch standard says.
export const FORBIDDEN_IN_HEADER_VALUE = /[\0\r\n]/;

const normalizeName = (name: string): string => {
  const text = String(name);
  if (!HEADER_NAME.test(text)) throw new TypeError(`invalid header name: ${JSON.stringify(text)}`);
  return text.toLowerCase();
};

const normalizeValue = (value: string): string => {
  const text = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (FORBIDDEN_IN_HEADER_VALUE.test(text)) throw new TypeError('invalid header value');
  return text;
};

export class Headers {
  // Lower-cased name -> values in order; set-cookie keeps its values apart (getSetCookie), others join with ", ".
  readonly #values = new Map<string, string[]>();

  constructor(init?: HeadersInit) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [name, values] of init.#values) this.#values.set(name, [...values]);
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<readonly [string, string]>) {
        if (pair.length !== 2) throw new TypeError('a header pair must have a name and a value');
        this.append(pair[0], pair[1]);
      }
    } else {
      for (const [name, value] of Object.entries(init as Record<string, string>)) this.append(name, value);
    }
  }

  append(name: string, value: string): void {
    const key = normalizeName(name);
    const text = normalizeValue(value);
    const values = this.#values.get(key);
    if (values === undefined) this.#values.set(key, [text]);
    else values.push(text);
  }

  set(name: string, value: string): void {
    this.#values.set(normalizeName(name), [normalizeValue(value)]);
  }

  get(name: string): string | null {
    const values = this.#values.get(normalizeName(name));
    return values === undefined ? null : values.join(', ');
  }

  has(name: string): boolean {
    return this.#values.has(normalizeName(name));
  }

  delete(name: string): void {
    this.#values.delete(normalizeName(name));
  }

  getSetCookie(): string[] {
    return [...(this.#values.get('set-cookie') ?? [])];
  }

  /** Sorted by name, set-cookie once per value: the order and shape the Fetch standard gives. */
  *entries(): IterableIterator<[string, string]> {
    for (const name of [...this.#values.keys()].sort()) {
      const values = this.#values.get(name) ?? [];
      if (name === 'set-cookie') for (const value of values) yield [name, value];
      else yield [name, values.join(', ')];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

const encoder = new TextEncoder();
// Lenient, like Response.text(): the app reads request bytes itself with a strict decoder (adapters/http/app.ts).
const decoder = new TextDecoder();

/**
 * What `body` gives: Hono asks whether there is one, passes it on to a new Response (the `c.res` setter), or, for a
 * request without a content-length (the adapter always sets one), reads it through a reader: one chunk serves that.
 */
class ByteStream {
  readonly #take: () => Uint8Array;

  constructor(take: () => Uint8Array) {
    this.#take = take;
  }

  /** The bytes, once: the body they came from is used up, as a stream handed on would be. */
  drain(): Uint8Array {
    return this.#take();
  }

  getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }> } {
    let bytes: Uint8Array | undefined = this.drain();
    return {
      read: async () => {
        const value = bytes;
        bytes = undefined;
        return value === undefined || value.length === 0 ? { done: true } : { done: false, value };
      },
    };
  }
}

type BodyInit = string | Uint8Array | ArrayBuffer | ByteStream | null | undefined;

const toBytes = (body: BodyInit): Uint8Array | null => {
  if (body === null || body === undefined) return null;
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof ByteStream) return body.drain();
  // Real streams, forms, blobs: never made on the Lambda path. Failing loudly beats sending "[object Object]".
  throw new TypeError('this runtime only takes string or byte bodies');
};

/** The body half that Request and Response share: bytes read once, as the standard says. */
class Body {
  #bytes: Uint8Array | null;
  #used = false;

  constructor(body: BodyInit) {
    this.#bytes = toBytes(body);
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  get body(): ByteStream | null {
    return this.#bytes === null ? null : new ByteStream(() => this.take());
  }

  protected peek(): Uint8Array | null {
    return this.#bytes;
  }

  protected take(): Uint8Array {
    // No body reads as empty, as often as asked, and is never "used" (the standard's null body).
    if (this.#bytes === null) return new Uint8Array(0);
    if (this.#used) throw new TypeError('the body has already been read');
    this.#used = true;
    return this.#bytes ?? new Uint8Array(0);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.arrayBuffer());
  }

  async text(): Promise<string> {
    return decoder.decode(this.take());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

type RequestInit = { method?: string; headers?: HeadersInit; body?: BodyInit; signal?: AbortSignal | null };

export class Request extends Body {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly signal: AbortSignal | null;

  constructor(input: string | URL | Request, init: RequestInit = {}) {
    const from = input instanceof Request ? input : undefined;
    const method = (init.method ?? from?.method ?? 'GET').toUpperCase();
    // A request's body moves to the copy; one without a body gives none (taking it would give an empty one).
    const body = init.body !== undefined ? init.body : from === undefined || from.peek() === null ? null : from.take();
    if (body !== null && body !== undefined && (method === 'GET' || method === 'HEAD')) {
      throw new TypeError(`a ${method} request cannot have a body`);
    }
    super(body);
    this.url = from?.url ?? new URL(String(input)).href;
    this.method = method;
    this.headers = new Headers(init.headers ?? from?.headers);
    if (typeof body === 'string' && !this.headers.has('content-type')) this.headers.set('content-type', 'text/plain;charset=UTF-8');
    this.signal = init.signal ?? from?.signal ?? null;
  }

  clone(): Request {
    if (this.bodyUsed) throw new TypeError('the body has already been read');
    const bytes = this.peek();
    return new Request(this.url, { method: this.method, headers: this.headers, body: bytes === null ? null : bytes.slice(), signal: this.signal });
  }
}

type ResponseInit = { status?: number; statusText?: string; headers?: HeadersInit };

// Statuses that must not carry a body (Fetch standard: "null body status").
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export class Response extends Body {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly type = 'default';
  readonly url = '';
  readonly redirected = false;

  constructor(body: BodyInit = null, init: ResponseInit = {}) {
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`invalid status ${status}`);
    if (body !== null && body !== undefined && NULL_BODY.has(status)) {
      throw new TypeError(`a ${status} response cannot have a body`);
    }
    super(body);
    this.status = status;
    this.statusText = init.statusText ?? '';
    this.headers = new Headers(init.headers);
    if (typeof body === 'string' && !this.headers.has('content-type')) {
      this.headers.set('content-type', 'text/plain;charset=UTF-8');
    }
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError('the body has already been read');
    const bytes = this.peek();
    return new Response(bytes === null ? null : bytes.slice(), { status: this.status, statusText: this.statusText, headers: this.headers });
  }

  static json(data: unknown, init: ResponseInit = {}): Response {
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(data), { ...init, headers });
  }
}
