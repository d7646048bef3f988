// Mail through SES on Lambda (`-c mailFrom=... -c sesIdentityArn=... -c appUrl=...`): the function's mail settings
// and its one SES grant, checked at synth so a half-configured sender fails here and not on a user's first mail.
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** Named as the context keys they come from, so an error can name the key to pass. */
export type SesMailProps = {
  /** The sender, `Name <address>` or a bare address (MAIL_FROM); without it the function sends no mail. */
  mailFrom?: string;
  /** The verified SES identity (domain or address) that covers mailFrom's address. */
  sesIdentityArn?: string;
  /** Where the mailed links point (APP_URL): absolute http(s), no query or fragment. */
  appUrl?: string;
  /** An SES configuration set in the stack's account and region (SES_CONFIGURATION_SET). */
  sesConfigurationSet?: string;
  /** The name the mails give the service (MAIL_PRODUCT_NAME). */
  mailProductName?: string;
  /**
   * In the SES sandbox SES also checks the sender's permission on each recipient's verified identity: those
   * identities' ARNs. Leave it out once the account has production access.
   */
  sesSandboxRecipientArns?: readonly string[];
};

export type SesMail = { environment: Record<string, string>; statement: PolicyStatement | undefined };

const IDENTITY_ARN = /^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/([^/\s*]+)$/;
// The app's own rule for SES_CONFIGURATION_SET (src/config.ts).
const CONFIGURATION_SET = /^[A-Za-z0-9_-]{1,64}$/;

/** The function's mail environment and SES statement; none of either without mailFrom. Throws naming the context key. */
export const sesMail = (scope: Construct, props: SesMailProps): SesMail => {
  const { mailFrom, sesIdentityArn, appUrl, sesConfigurationSet, mailProductName, sesSandboxRecipientArns = [] } = props;
  if (mailFrom === undefined) {
    const stray = Object.entries({ sesIdentityArn, appUrl, sesConfigurationSet, mailProductName })
      .filter(([, value]) => value !== undefined)
      .map(([key]) => key);
    if (sesSandboxRecipientArns.length > 0) stray.push('sesSandboxRecipientArns');
    if (stray.length > 0) throw new Error(`${stray.join(', ')} given without mailFrom: pass -c mailFrom=... to send mail`);
    return { environment: {}, statement: undefined };
  }
  if (sesIdentityArn === undefined) {
    throw new Error('mailFrom needs sesIdentityArn: pass -c sesIdentityArn=arn:aws:ses:REGION:ACCOUNT:identity/DOMAIN');
  }
  if (appUrl === undefined) throw new Error('mailFrom needs appUrl: pass -c appUrl=https://... (where mailed links point)');
  checkIdentityCovers(sesIdentityArn, senderAddress(mailFrom));
  checkAppUrl(appUrl);
  for (const arn of sesSandboxRecipientArns) {
    if (!IDENTITY_ARN.test(arn)) throw new Error(`sesSandboxRecipientArns: "${arn}" is not an SES identity ARN`);
  }
  if (sesConfigurationSet !== undefined && !CONFIGURATION_SET.test(sesConfigurationSet)) {
    throw new Error('sesConfigurationSet must be an SES configuration set name (letters, digits, _ and -, 1-64)');
  }

  // The configuration set lives in the sending account and region, the stack's own.
  const configurationSetArn =
    sesConfigurationSet === undefined
      ? []
      : [
          Stack.of(scope).formatArn({
            service: 'ses',
            resource: 'configuration-set',
            resourceName: sesConfigurationSet,
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ];
  return {
    environment: {
      MAIL_FROM: mailFrom,
      APP_URL: appUrl,
      ...(sesConfigurationSet === undefined ? {} : { SES_CONFIGURATION_SET: sesConfigurationSet }),
      ...(mailProductName === undefined ? {} : { MAIL_PRODUCT_NAME: mailProductName }),
    },
    // SendEmail (SES v2) is authorised on the identity and on the configuration set the call names.
    statement: new PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: [sesIdentityArn, ...configurationSetArn, ...sesSandboxRecipientArns],
    }),
  };
};

/** The address in `Name <address>` or a bare address. */
const senderAddress = (mailFrom: string): string => {
  const address = (/<([^<>]*)>\s*$/.exec(mailFrom)?.[1] ?? mailFrom).trim();
  if (!/^[^@\s]+@[^@\s]+$/.test(address)) throw new Error(`mailFrom must be an address or "Name <address>", got "${mailFrom}"`);
  return address.toLowerCase();
};

/** SES sends from an address only when the identity is that address, its domain, or a parent domain of it. */
const checkIdentityCovers = (identityArn: string, address: string) => {
  const identity = IDENTITY_ARN.exec(identityArn)?.[1]?.toLowerCase();
  if (identity === undefined) {
    throw new Error(`sesIdentityArn must look like arn:aws:ses:REGION:ACCOUNT:identity/DOMAIN, got "${identityArn}"`);
  }
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const covered = identity.includes('@') ? identity === address : domain === identity || domain.endsWith(`.${identity}`);
  if (!covered) throw new Error(`sesIdentityArn (identity ${identity}) does not cover mailFrom's address ${address}`);
};

/** The app's APP_URL rules (src/adapters/mail/messages.ts), so a bad value fails at synth, not at cold start. */
const checkAppUrl = (appUrl: string) => {
  let url: URL;
  try {
    url = new URL(appUrl);
  } catch {
    throw new Error(`appUrl must be an absolute URL, got "${appUrl}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('appUrl must be an https (or http) URL');
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(appUrl)) throw new Error('appUrl must have no query or fragment');
  if (url.username !== '' || url.password !== '') throw new Error('appUrl must not carry a user or password');
};
