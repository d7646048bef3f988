// The outbox on disk: real .eml files, parsed back with mailparser, and the one console line per mail.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMessages } from './messages';
import { createOutboxMailer } from './outbox-mailer';

const TOKEN = 'Zm9vYmFyLXRva2VuLXNlY3JldC0wMTIzNDU2Nzg5';
const messages = createMessages({ appUrl: 'http://localhost:3000', productName: 'Grüße Login' });
const verify = messages.build({ kind: 'verify_email', to: 'zoë@example.com', token: TOKEN, expiresInSeconds: 86_400 });
const notice = messages.build({ kind: 'password_changed', to: 'bob@example.com', username: 'bob' });
const FROM = 'Grüße Login <no-reply@example.com>';
const AT = new Date('2026-12-01T12:30:00.123Z');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outbox-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('createOutboxMailer', () => {
  it('writes an RFC 5322 file with Date, Message-ID and UTF-8 text and HTML alternatives', async () => {
    // Prepare
    const lines: string[] = [];
    const folder = join(dir, 'outbox');
    const mailer = createOutboxMailer({ folder, from: FROM, line: (text) => lines.push(text), clock: { now: () => AT } });

    // Act
    await mailer.send(verify);

    // Assess
    const [name, ...others] = readdirSync(folder);
    expect(others).toEqual([]);
    expect(name).toMatch(/^2026-12-01T12-30-00\.123Z-\d{6}-[0-9a-f]{6}\.eml$/);
    const raw = readFileSync(join(folder, name!));
    expect(statSync(join(folder, name!)).mode & 0o777).toBe(0o600);
    const head = raw.toString('latin1').split('\r\n\r\n')[0]!;
    expect(head).toMatch(/^Content-Type: multipart\/alternative;\s+boundary=/m);
    expect(head).toMatch(/^MIME-Version: 1\.0$/m);
    // Headers are 7-bit: the non-ASCII subject and sender name travel as RFC 2047 encoded words (only an
    // address's own non-ASCII local part is raw UTF-8, as RFC 6532 has it: no encoding can stand for it).
    expect(head.replace(/^To: .*$/m, '')).toMatch(/^[\x20-\x7e\r\n\t]*$/);
    expect(head).toContain(`To: ${Buffer.from('zoë@example.com').toString('latin1')}\r\n`);
    expect(head).toMatch(/^Subject: =\?UTF-8\?/m);

    const parts = raw.toString('latin1').split(/\r\n--/).slice(1, 3).map((part) => part.split('\r\n\r\n')[0]);
    expect(parts.map((part) => part!.match(/^Content-Type: (.*)$/m)?.[1])).toEqual([
      'text/plain; charset=utf-8',
      'text/html; charset=utf-8',
    ]);

    const mail = await simpleParser(raw);
    expect(mail.subject).toBe('Verify your email address for Grüße Login');
    expect(mail.from?.value).toEqual([{ address: 'no-reply@example.com', name: 'Grüße Login' }]);
    expect(mail.to && !Array.isArray(mail.to) && mail.to.value[0]?.address).toBe('zoë@example.com');
    expect(mail.date?.toISOString()).toBe('2026-12-01T12:30:00.000Z');
    expect(mail.messageId).toMatch(/^<[^@\s]+@example\.com>$/);
    expect(mail.text).toBe(verify.text);
    expect(mail.html).toBe(verify.html);
  });

  it('prints one line per mail with its recipient, subject, links and file', async () => {
    // Prepare
    const lines: string[] = [];
    const folder = join(dir, 'outbox');
    const mailer = createOutboxMailer({ folder, from: FROM, line: (text) => lines.push(text) });

    // Act
    await mailer.send(verify);

    // Assess
    const [name] = readdirSync(folder);
    expect(lines).toEqual([
      `mail to zoë@example.com: "Verify your email address for Grüße Login" ` +
        `http://localhost:3000/verify-email#token=${TOKEN} (${join(folder, name!)})`,
    ]);
  });

  it('names the files so that they sort in the order the mails were sent, within one millisecond too', async () => {
    // Prepare
    const times = [AT, AT, new Date(AT.getTime() + 1), new Date(AT.getTime() + 1000)];
    let next = 0;
    const mailer = createOutboxMailer({ folder: dir, from: FROM, line: () => {}, clock: { now: () => times[next++]! } });

    // Act
    for (const subject of ['one', 'two', 'three', 'four']) await mailer.send({ ...notice, subject });

    // Assess
    const subjects = [];
    for (const name of readdirSync(dir).sort()) subjects.push((await simpleParser(readFileSync(join(dir, name)))).subject);
    expect(subjects).toEqual(['one', 'two', 'three', 'four']);
  });

  it('with no folder (DATA_DIR=:memory:) prints the line and writes nothing', async () => {
    // Prepare
    const lines: string[] = [];
    const mailer = createOutboxMailer({ folder: null, from: FROM, line: (text) => lines.push(text) });

    // Act
    await mailer.send(notice);

    // Assess
    expect(lines).toEqual([
      'mail to bob@example.com: "Your password was changed at Grüße Login" http://localhost:3000',
    ]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails with an error that names the folder but not the mail, and prints nothing, when it cannot write', async () => {
    // Prepare: a file where the outbox folder should be
    const blocked = join(dir, 'outbox');
    writeFileSync(blocked, '');
    chmodSync(blocked, 0o400);
    const lines: string[] = [];
    const mailer = createOutboxMailer({ folder: blocked, from: FROM, line: (text) => lines.push(text) });

    // Act
    const error = await mailer.send(verify).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'MailSendError', sender: 'outbox' });
    expect((error as Error).message).toMatch(new RegExp(`^mail not written to the outbox ${blocked} \\(E[A-Z]+\\)$`));
    expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
    expect(lines).toEqual([]);
  });
});
