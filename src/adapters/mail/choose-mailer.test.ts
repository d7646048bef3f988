// The notifier: a request made into the message the templates build, handed to the sender, bounded in time.
import { describe, expect, it } from 'vitest';
import type { MailMessage, Mailer } from '../../domain/mail';
import { createNotifier } from './choose-mailer';
import { MailSendError } from './mail-send-error';

const request = { kind: 'verify_email', to: 'ada@example.com', token: 'tok', expiresInSeconds: 60 } as const;

describe('createNotifier', () => {
  it('hands the sender the message with a link from APP_URL, read at the send', async () => {
    // Prepare
    const sent: MailMessage[] = [];
    let appUrl = 'http://localhost:0';
    const notifier = createNotifier({ send: async (message) => void sent.push(message) }, () => appUrl, 'Acme', 1000);
    appUrl = 'http://localhost:4100';

    // Act
    await notifier.send(request);

    // Assess
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBe('ada@example.com');
    expect(sent[0]?.text).toContain('http://localhost:4100/verify-email#token=tok');
    expect(sent[0]?.subject).toContain('Acme');
  });

  it('fails a send that has no answer within its time, with a MailSendError that names no address or link', async () => {
    // Prepare: a sender that never answers
    const silent: Mailer = { send: () => new Promise(() => undefined) };
    const notifier = createNotifier(silent, () => 'http://localhost:3000', 'Acme', 50);

    // Act
    const error = await notifier.send(request).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    // Assess
    expect(error).toBeInstanceOf(MailSendError);
    expect((error as Error).message).toContain('50 ms');
    expect((error as Error).message).not.toMatch(/ada@|token|verify-email/);
  });

  it('passes on the sender\u2019s own failure', async () => {
    const failing: Mailer = { send: () => Promise.reject(new MailSendError('smtp', 'mail not sent: the SMTP server answered 550')) };
    const notifier = createNotifier(failing, () => 'http://localhost:3000', 'Acme', 1000);

    await expect(notifier.send(request)).rejects.toThrow('answered 550');
  });
});
