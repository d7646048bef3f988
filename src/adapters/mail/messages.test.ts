// The mail templates: subjects, links built from APP_URL with the token in the fragment, lifetimes, escaping.
import { describe, expect, it } from 'vitest';
import type { MailRequest } from '../../domain/mail';
import { createMessages, duration, escapeHtml } from './messages';

const TOKEN = 'tok_AbC-123_xyz';
const requests: MailRequest[] = [
  { kind: 'verify_email', to: 'alice@example.com', token: TOKEN, expiresInSeconds: 86_400 },
  { kind: 'reset_password', to: 'alice@example.com', username: 'alice', token: TOKEN, expiresInSeconds: 1800 },
  { kind: 'password_changed', to: 'alice@example.com', username: 'alice' },
  { kind: 'email_changed', to: 'old@example.com', username: 'alice' },
  { kind: 'factor_changed', to: 'alice@example.com', username: 'alice', change: 'passkey.added' },
];

/** The visible text of the HTML part, tags dropped and entities read back, to compare it with the text part. */
const visible = (html: string) =>
  html
    .replace(/<title>.*<\/title>/s, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!)
    .replace(/\s+/g, ' ')
    .trim();

describe('createMessages', () => {
  it('says in words which sign-in method changed, and that other sessions ended', () => {
    const messages = createMessages({ appUrl: 'https://auth.example.com', productName: 'Acme Login' });
    const changes = ['mfa.enabled', 'mfa.disabled', 'mfa.recovery_codes_replaced', 'passkey.added', 'passkey.removed'] as const;

    const texts = changes.map((change) => messages.build({ kind: 'factor_changed', to: 'a@example.com', username: 'alice', change }).text);

    expect(texts[0]).toContain('Two-step verification with an authenticator app was turned on for the account "alice"');
    expect(texts[1]).toContain('was turned off');
    expect(texts[2]).toContain('A new set of recovery codes was made');
    expect(texts[3]).toContain('A passkey was added');
    expect(texts[4]).toContain('A passkey was removed');
    for (const text of texts) expect(text).toContain('Every other session of the account has ended');
  });

  it('starts each subject as the contract says and names the product in subject, text and HTML', () => {
    // Prepare
    const messages = createMessages({ appUrl: 'https://auth.example.com', productName: 'Acme Login' });

    // Act
    const built = requests.map((request) => messages.build(request));

    // Assess
    expect(built.map((m) => m.subject)).toEqual([
      'Verify your email address for Acme Login',
      'Reset your password for Acme Login',
      'Your password was changed at Acme Login',
      'Your email address was changed at Acme Login',
      'Your sign-in methods changed at Acme Login',
    ]);
    for (const message of built) {
      expect(message.text).toContain('Acme Login');
      expect(message.html).toContain('Acme Login');
      expect(message.text).toMatch(/If you did not/);
    }
    expect(built.map((m) => m.to)).toEqual(requests.map((r) => r.to));
  });

  it('defaults the product name to login-service', () => {
    const message = createMessages({ appUrl: 'http://localhost:3000' }).build(requests[2]!);

    expect(message.subject).toBe('Your password was changed at login-service');
  });

  it('builds the links from APP_URL, with the token in the fragment, in both parts', () => {
    // Prepare
    const messages = createMessages({ appUrl: 'https://example.com/auth/' });

    // Act
    const verify = messages.build(requests[0]!);
    const reset = messages.build(requests[1]!);

    // Assess
    const verifyLink = `https://example.com/auth/verify-email#token=${TOKEN}`;
    const resetLink = `https://example.com/auth/reset-password#token=${TOKEN}`;
    expect(verify.text).toContain(`\n${verifyLink}\n`);
    expect(verify.html).toContain(`<a href="${verifyLink}">${verifyLink}</a>`);
    expect(reset.text).toContain(`\n${resetLink}\n`);
    expect(reset.html).toContain(`<a href="${resetLink}">`);
    expect(verify.text).not.toContain('?');
  });

  it('percent-encodes a token that is not URL-safe, so the fragment cannot be cut short', () => {
    const message = createMessages({ appUrl: 'http://localhost:3000' }).build({
      kind: 'verify_email',
      to: 'a@example.com',
      token: 'a b&c#d',
      expiresInSeconds: 60,
    });

    expect(message.text).toContain('http://localhost:3000/verify-email#token=a%20b%26c%23d');
  });

  it('says how long each link lasts', () => {
    const messages = createMessages({ appUrl: 'http://localhost:3000' });

    expect(messages.build(requests[0]!).text).toContain('expires in 24 hours');
    expect(messages.build(requests[1]!).text).toContain('expires in 30 minutes');
    expect(messages.build(requests[1]!).html).toContain('expires in 30 minutes');
  });

  it('says the same in the HTML part as in the text part', () => {
    const messages = createMessages({ appUrl: 'http://localhost:3000', productName: 'Shop & Co' });

    for (const request of requests) {
      const message = messages.build(request);
      expect(visible(message.html)).toBe(message.text.replace(/\s+/g, ' ').trim());
    }
  });

  it('escapes the product name and username in the HTML, never letting markup through', () => {
    // Prepare
    const messages = createMessages({ appUrl: 'http://localhost:3000', productName: '<b>Evil</b> & "Co"' });

    // Act
    const message = messages.build({ kind: 'reset_password', to: 'a@example.com', username: `x"><script>alert(1)</script>`, token: TOKEN, expiresInSeconds: 60 });

    // Assess
    expect(message.html).not.toContain('<script>');
    expect(message.html).not.toContain('<b>');
    expect(message.html).toContain('&lt;b&gt;Evil&lt;/b&gt; &amp; &quot;Co&quot;');
    expect(message.html).toContain('x&quot;&gt;&lt;script&gt;');
    expect(message.text).toContain('<b>Evil</b>'); // plain text is not HTML: no entities there
  });

  it.each([
    ['not a url', /absolute URL/],
    ['ftp://example.com', /http or https/],
    ['https://example.com/?a=1', /no query or fragment/],
    ['https://example.com/#x', /no query or fragment/],
    ['https://user:pw@example.com', /user or password/],
  ])('refuses APP_URL %s', (appUrl, message) => {
    expect(() => createMessages({ appUrl })).toThrow(message);
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that can end HTML text or an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});

describe('duration', () => {
  it.each([
    [86_400, '24 hours'],
    [3600, '1 hour'],
    [1800, '30 minutes'],
    [60, '1 minute'],
    [90, '90 seconds'],
  ])('says %i seconds as %s', (seconds, said) => {
    expect(duration(seconds)).toBe(said);
  });
});
