// The SES mail options' rules at synth: which sender an identity covers, which appUrl passes, what fails and how.
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { sesMail, type SesMailProps } from './ses-mail';

const arn = (identity: string) => `arn:aws:ses:eu-west-1:123456789012:identity/${identity}`;
const MAIL = { mailFrom: 'Acme <no-reply@acme.com>', sesIdentityArn: arn('acme.com'), appUrl: 'https://app.acme.com' };
const run = (props: SesMailProps) => sesMail(new Stack(new App(), 'Api'), props);
const resourcesOf = (props: SesMailProps) => run(props).statement?.toStatementJson().Resource;

describe('sesMail', () => {
  it('gives no settings and no statement without any mail option', () => {
    expect(run({})).toEqual({ environment: {}, statement: undefined });
  });

  it.each([
    ['a bare address on the domain', 'no-reply@acme.com', 'acme.com'],
    ['a subdomain of the domain', 'Acme <no-reply@mail.acme.com>', 'acme.com'],
    ['the address identity itself, in any case', 'Acme <No-Reply@Acme.com>', 'no-reply@acme.com'],
  ])('accepts %s as covered by the identity', (_case, mailFrom, identity) => {
    expect(resourcesOf({ ...MAIL, mailFrom, sesIdentityArn: arn(identity) })).toBe(arn(identity));
  });

  it.each([
    ['another domain', 'no-reply@acme.org', 'acme.com'],
    ['a domain that only ends like it', 'no-reply@notacme.com', 'acme.com'],
    ['another address on the domain', 'ops@acme.com', 'no-reply@acme.com'],
    ['a parent of the identity domain', 'no-reply@acme.com', 'mail.acme.com'],
  ])('refuses a sender on %s', (_case, mailFrom, identity) => {
    expect(() => run({ ...MAIL, mailFrom, sesIdentityArn: arn(identity) })).toThrow(/does not cover mailFrom's address/);
  });

  it.each([
    ['a wildcard', '*'],
    ['a configuration set ARN', 'arn:aws:ses:eu-west-1:123456789012:configuration-set/events'],
    ['a wildcard identity', 'arn:aws:ses:eu-west-1:123456789012:identity/*'],
    ['a short account', 'arn:aws:ses:eu-west-1:1234:identity/acme.com'],
  ])('refuses %s as sesIdentityArn', (_case, sesIdentityArn) => {
    expect(() => run({ ...MAIL, sesIdentityArn })).toThrow(/sesIdentityArn must look like arn:aws:ses:REGION:ACCOUNT:identity/);
  });

  it('refuses a mailFrom without an address', () => {
    expect(() => run({ ...MAIL, mailFrom: 'Acme' })).toThrow(/mailFrom must be an address/);
  });

  it.each([
    ['https://app.acme.com/login', true],
    ['http://localhost:3000', true],
    ['app.acme.com', /appUrl must be an absolute URL/],
    ['ftp://app.acme.com', /appUrl must be an https \(or http\) URL/],
    ['https://app.acme.com/?', /no query or fragment/],
    ['https://app.acme.com/#top', /no query or fragment/],
    ['https://me:pw@app.acme.com', /must not carry a user or password/],
  ])('appUrl %s: %s', (appUrl, outcome) => {
    if (outcome === true) expect(run({ ...MAIL, appUrl }).environment.APP_URL).toBe(appUrl);
    else expect(() => run({ ...MAIL, appUrl })).toThrow(outcome);
  });

  it('refuses a configuration set name SES would not take, and a sandbox recipient that is no identity ARN', () => {
    expect(() => run({ ...MAIL, sesConfigurationSet: 'login events' })).toThrow(/sesConfigurationSet must be/);
    expect(() => run({ ...MAIL, sesSandboxRecipientArns: ['tester@example.org'] })).toThrow(
      /sesSandboxRecipientArns: "tester@example.org" is not an SES identity ARN/,
    );
  });

  it('names every mail option given without mailFrom', () => {
    expect(() => run({ appUrl: MAIL.appUrl, mailProductName: 'Acme', sesSandboxRecipientArns: [arn('t@example.org')] })).toThrow(
      'appUrl, mailProductName, sesSandboxRecipientArns given without mailFrom: pass -c mailFrom=... to send mail',
    );
  });
});
