// loadConfig: safe defaults for local use, and a ConfigError naming the variable for every bad setting.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

const SECRET_32 = 'k'.repeat(32);
const LAMBDA_ENV = { JWT_SECRET: SECRET_32, REFRESH_TOKEN_SECRET: SECRET_32, AWS_REGION: 'eu-west-1' };

/** The ConfigError loadConfig throws for this env, or a test failure if it throws nothing or something else. */
const configError = (env: Record<string, string | undefined>, runtime: 'lambda' | 'local' = 'local') => {
  try {
    loadConfig(env, runtime);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted the configuration');
};

describe('loadConfig', () => {
  it('fills every setting with its default locally', () => {
    // Act
    const config = loadConfig({}, 'local');

    // Assess
    expect(config).toEqual({
      runtime: 'local',
      jwtSecret: undefined,
      jwtSecretArn: undefined,
      jwtAlg: 'HS256',
      jwtPrivateJwks: undefined,
      jwtPrivateJwksArn: undefined,
      jwtSigningKid: undefined,
      refreshTokenSecret: undefined,
      refreshTokenSecretArn: undefined,
      refreshTtlSeconds: 2_592_000,
      refreshGraceSeconds: 60,
      sessionsTableName: 'user-sessions',
      throttleTableName: 'login-throttle',
      throttle: { userFailures: 5, maxDelaySeconds: 900, windowSeconds: 900, ipFailures: 100, ipRegistrations: 20, ipMails: 20 },
      oneTimeTokensTableName: 'user-one-time-tokens',
      emailsTableName: 'user-emails',
      email: { verifyTtlSeconds: 86_400, resetTtlSeconds: 1800, mailsPerAccountPerHour: 5 },
      mail: {
        from: undefined,
        smtpUrl: undefined,
        appUrl: undefined,
        productName: 'login-service',
        sesConfigurationSet: undefined,
      },
      mailer: { kind: 'outbox', from: 'login-service <no-reply@localhost>' },
      mfa: { issuer: 'login-service', encryptionKey: undefined, encryptionKeyArn: undefined, tokenTtlSeconds: 300 },
      passkeysTableName: 'user-passkeys',
      webauthn: { rpId: undefined, origins: undefined, rpName: undefined, challengeTtlSeconds: 300 },
      // Locally passkeys work out of the box: localhost, and the server's own URL as the origin.
      passkeys: { rpId: 'localhost', rpName: 'login-service', origins: null, challengeTtlSeconds: 300 },
      trustProxy: 0,
      passwordMinLength: 8,
      tableName: 'user-table',
      tokenTtlSeconds: 3600,
      jwtIssuer: 'login-service',
      jwtAudience: 'login-service',
      corsOrigins: '*',
      argon2: { memoryKiB: 19456, timeCost: 2, parallelism: 1 },
      host: '127.0.0.1',
      port: 3000,
      dataDir: '.data',
      dynamodb: { endpoint: undefined, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
      secretsManager: { endpoint: undefined, region: 'us-east-1' },
      storeTimeoutMs: 2000,
      requestTimeoutMs: 5000,
      logLevel: 'INFO',
      docsEnabled: false,
      demoEnabled: false,
    });
  });

  it('returns a frozen config, nested settings included', () => {
    // Act
    const config = loadConfig({}, 'local');

    // Assess
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.argon2)).toBe(true);
    expect(Object.isFrozen(config.dynamodb)).toBe(true);
  });

  it('reads the secret as UTF-8 bytes and the region on Lambda', () => {
    // Act
    const config = loadConfig(LAMBDA_ENV, 'lambda');

    // Assess
    expect(config.jwtSecret).toBe(SECRET_32);
    expect(config.dynamodb.region).toBe('eu-west-1');
    expect(config.dynamodb.credentials).toBeUndefined();
  });

  it('refuses to start on Lambda without JWT_SECRET', () => {
    // Act
    const error = configError({ AWS_REGION: 'eu-west-1' }, 'lambda');

    // Assess
    expect(error.message).toContain('JWT_SECRET');
  });

  it('refuses a 31-byte secret naming JWT_SECRET, without echoing the secret', () => {
    // Prepare
    const secret = 'x'.repeat(31);

    // Act
    const error = configError({ JWT_SECRET: secret });

    // Assess
    expect(error.message).toContain('JWT_SECRET');
    expect(error.message).not.toContain(secret);
  });

  it('counts the secret in bytes: 11 euro signs (33 bytes) are enough, 10 (30 bytes) are not', () => {
    // Act
    const config = loadConfig({ JWT_SECRET: '€'.repeat(11) }, 'local');
    const error = configError({ JWT_SECRET: '€'.repeat(10) });

    // Assess
    expect(config.jwtSecret).toBe('€'.repeat(11));
    expect(error.message).toContain('JWT_SECRET');
  });

  it.each([
    ['ARGON2_MEMORY_KIB', '1024'],
    ['ARGON2_TIME_COST', '1'],
    ['TOKEN_TTL_SECONDS', 'abc'],
    ['TOKEN_TTL_SECONDS', '-5'],
    ['PORT', '70000'],
    ['STORE_TIMEOUT_MS', '1.5'],
    ['STORE_TIMEOUT_MS', '30001'],
    ['TABLE_NAME', 'a b'],
    ['LOG_LEVEL', 'LOUD'],
    ['DYNAMODB_ENDPOINT', 'not a url'],
    ['DYNAMODB_ENDPOINT', 'localhost:8000'],
    ['CORS_ORIGINS', 'https://app.example.com,not an origin'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['CORS_ORIGINS', 'ftp://files.example.com'],
    ['AWS_REGION', 'Not A Region'],
  ])('refuses %s=%j naming the variable', (name, value) => {
    // Act
    const error = configError({ [name]: value });

    // Assess
    expect(error.message).toContain(name);
  });

  it('parses a comma-separated CORS_ORIGINS list, trimming each entry', () => {
    // Act
    const config = loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }, 'local');

    // Assess
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });

  it('accepts an http(s) DYNAMODB_ENDPOINT on Lambda as a local store: no region needed, dummy credentials', () => {
    // Act
    const config = loadConfig({ JWT_SECRET: SECRET_32, REFRESH_TOKEN_SECRET: SECRET_32, DYNAMODB_ENDPOINT: 'http://localhost:8000' }, 'lambda');

    // Assess
    expect(config.dynamodb).toEqual({
      endpoint: 'http://localhost:8000',
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  it('uses real credentials, not the local dummies, when AWS_ACCESS_KEY_ID is set', () => {
    // Act
    const config = loadConfig({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }, 'local');

    // Assess
    expect(config.dynamodb.credentials).toBeUndefined();
  });

  it('treats an empty variable as unset', () => {
    // Act
    const config = loadConfig({ TOKEN_TTL_SECONDS: '', PORT: '' }, 'local');

    // Assess
    expect(config.tokenTtlSeconds).toBe(3600);
    expect(config.port).toBe(3000);
  });

  it('requires AWS_REGION on Lambda against real DynamoDB', () => {
    // Act
    const error = configError({ JWT_SECRET: SECRET_32, REFRESH_TOKEN_SECRET: SECRET_32 }, 'lambda');

    // Assess
    expect(error.message).toContain('AWS_REGION');
  });

  it.each(['ARGON2_PARALLELISM=0', 'ARGON2_TIME_COST=1', 'JWT_ISSUER= ', 'JWT_SECRET_ARN=not-an-arn', 'LOG_LEVEL=LOUD'])(
    'refuses %s naming the variable',
    (assignment) => {
      // Prepare
      const [name, value] = assignment.split('=') as [string, string];

      // Act
      const error = configError({ [name]: value });

      // Assess
      expect(error.message).toContain(name);
    },
  );

  it('starts on Lambda with JWT_SECRET_ARN instead of JWT_SECRET', () => {
    // Act
    const config = loadConfig(
      {
        AWS_REGION: 'eu-west-1',
        JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf',
        REFRESH_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:refresh-AbCdEf',
      },
      'lambda',
    );

    // Assess
    expect(config.jwtSecret).toBeUndefined();
    expect(config.jwtSecretArn).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf');
  });

  it('keeps real credentials from a profile against a local endpoint', () => {
    // Act
    const config = loadConfig({ AWS_PROFILE: 'dev', DYNAMODB_ENDPOINT: 'http://localhost:8000' }, 'local');

    // Assess
    expect(config.dynamodb.credentials).toBeUndefined();
  });

  it.each([
    [{ AWS_REGION: 'eu-west-1', JWT_SECRET: SECRET_32 }, 'REFRESH_TOKEN_SECRET'],
    [{ AWS_REGION: 'eu-west-1', JWT_ALG: 'EdDSA', REFRESH_TOKEN_SECRET: SECRET_32 }, 'JWT_PRIVATE_JWKS'],
  ])('refuses to start on Lambda without its keys: %j needs %s', (env, missing) => {
    // Act
    const error = configError(env, 'lambda');

    // Assess
    expect(error.message).toContain(missing);
  });

  it.each(['JWT_ALG=RS256', 'JWT_PRIVATE_JWKS=[1,2]', 'REFRESH_GRACE_SECONDS=61', 'SESSIONS_TABLE_NAME=a'])(
    'refuses %s naming the variable',
    (assignment) => {
      // Prepare
      const [name, value] = assignment.split('=') as [string, string];

      // Act
      const error = configError({ [name]: value });

      // Assess
      expect(error.message).toContain(name);
    },
  );

  it.each(['PASSWORD_MIN_LENGTH=7', 'THROTTLE_USER_FAILURES=0', 'TRUST_PROXY=-1', 'THROTTLE_WINDOW_SECONDS=abc'])(
    'refuses the throttle or policy setting %s naming it',
    (assignment) => {
      // Prepare
      const [name, value] = assignment.split('=') as [string, string];

      // Act
      const error = configError({ [name]: value });

      // Assess
      expect(error.message).toContain(name);
    },
  );

  it.each(['0', '60'])('accepts REFRESH_GRACE_SECONDS=%s, the ends of the range Cognito allows', (value) => {
    // Act
    const config = loadConfig({ REFRESH_GRACE_SECONDS: value }, 'local');

    // Assess
    expect(config.refreshGraceSeconds).toBe(Number(value));
  });

  it.each(['1000', '30000'])('accepts REQUEST_TIMEOUT_MS=%s, the ends of its range', (value) => {
    // Act
    const config = loadConfig({ REQUEST_TIMEOUT_MS: value, STORE_TIMEOUT_MS: '1000' }, 'local');

    // Assess
    expect(config.requestTimeoutMs).toBe(Number(value));
  });

  it.each([
    ['true', true],
    [' TRUE ', true],
    ['false', false],
  ])('reads DOCS_ENABLED and DEMO_ENABLED=%j as %s', (value, enabled) => {
    // Act
    const config = loadConfig({ DOCS_ENABLED: value, DEMO_ENABLED: value }, 'local');

    // Assess
    expect(config.docsEnabled).toBe(enabled);
    expect(config.demoEnabled).toBe(enabled);
  });

  it.each(['DOCS_ENABLED=yes', 'DEMO_ENABLED=1'])('refuses %s naming it: only true or false', (assignment) => {
    // Prepare
    const [variable = '', value = ''] = assignment.split('=');

    // Act
    const error = configError({ [variable]: value });

    // Assess
    expect(error.message).toContain(`${variable} must be true or false`);
  });

  it.each(['999', '30001', '5s'])('refuses REQUEST_TIMEOUT_MS=%s naming it', (value) => {
    // Act
    const error = configError({ REQUEST_TIMEOUT_MS: value, STORE_TIMEOUT_MS: '500' });

    // Assess
    expect(error.message).toContain('REQUEST_TIMEOUT_MS');
  });

  it('accepts a REQUEST_TIMEOUT_MS equal to STORE_TIMEOUT_MS', () => {
    // Act
    const config = loadConfig({ REQUEST_TIMEOUT_MS: '3000', STORE_TIMEOUT_MS: '3000' }, 'local');

    // Assess
    expect(config.requestTimeoutMs).toBe(3000);
    expect(config.storeTimeoutMs).toBe(3000);
  });

  it.each([
    [{ REQUEST_TIMEOUT_MS: '2999', STORE_TIMEOUT_MS: '3000' }, '(2999)'],
    // The default deadline (5000) is shorter than this store bound: the message says so rather than blaming STORE_TIMEOUT_MS alone.
    [{ STORE_TIMEOUT_MS: '8000' }, '(5000)'],
  ])('refuses a request deadline shorter than one store call (%j), naming both variables', (env, deadline) => {
    // Act
    const error = configError(env);

    // Assess
    expect(error.message).toContain(`REQUEST_TIMEOUT_MS ${deadline} must be at least STORE_TIMEOUT_MS`);
  });

  it.each([
    ['0.0.0.0', '0.0.0.0'],
    ['::', '::'],
    ['[::]', '::'],
    ['::1', '::1'],
    ['192.168.1.20', '192.168.1.20'],
    ['localhost', 'localhost'],
    [' 127.0.0.1 ', '127.0.0.1'],
  ])('accepts HOST=%j as the listen address %j', (value, host) => {
    // Act
    const config = loadConfig({ HOST: value }, 'local');

    // Assess
    expect(config.host).toBe(host);
  });

  it.each(['example.com', '127.1', '256.0.0.1', '0.0.0.0:3000', 'http://localhost', '::g', 'local host'])(
    'refuses HOST=%j naming it',
    (value) => {
      // Act
      const error = configError({ HOST: value });

      // Assess
      expect(error.message).toContain('HOST must be an IPv4 or IPv6 address or localhost');
    },
  );
});

describe('loadConfig: mail settings (issue 10)', () => {
  const SMTP = { SMTP_URL: 'smtp://mailer:s3cret-pw@mail.example.com:587', MAIL_FROM: 'no-reply@example.com' };

  it('names the token and verified-address tables, taking others from the environment', () => {
    // Act
    const config = loadConfig({ ONE_TIME_TOKENS_TABLE_NAME: 'prod-tokens', EMAILS_TABLE_NAME: 'prod.emails_1' }, 'local');

    // Assess
    expect(config.oneTimeTokensTableName).toBe('prod-tokens');
    expect(config.emailsTableName).toBe('prod.emails_1');
  });

  it.each(['ONE_TIME_TOKENS_TABLE_NAME=ab', 'EMAILS_TABLE_NAME=user emails', 'EMAILS_TABLE_NAME=user/emails'])(
    'refuses the table name %s naming the variable',
    (assignment) => {
      // Prepare
      const [name, value] = assignment.split('=') as [string, string];

      // Act
      const error = configError({ [name]: value });

      // Assess
      expect(error.message).toContain(`${name} must be a DynamoDB table name`);
    },
  );

  it.each([
    ['VERIFY_TTL_SECONDS', '300', 'verifyTtlSeconds'],
    ['VERIFY_TTL_SECONDS', '86400', 'verifyTtlSeconds'],
    ['RESET_TTL_SECONDS', '300', 'resetTtlSeconds'],
    ['RESET_TTL_SECONDS', '86400', 'resetTtlSeconds'],
    ['MAILS_PER_ACCOUNT_PER_HOUR', '1', 'mailsPerAccountPerHour'],
    ['MAILS_PER_ACCOUNT_PER_HOUR', '1000', 'mailsPerAccountPerHour'],
  ] as const)('accepts %s=%s, an end of its range', (variable, value, key) => {
    // Act
    const config = loadConfig({ [variable]: value }, 'local');

    // Assess
    expect(config.email[key]).toBe(Number(value));
  });

  it.each([
    ['VERIFY_TTL_SECONDS', '299', 'must be at least 300'],
    ['VERIFY_TTL_SECONDS', '86401', 'must be at most 86400'],
    ['RESET_TTL_SECONDS', '299', 'must be at least 300'],
    ['RESET_TTL_SECONDS', '86401', 'must be at most 86400'],
    ['RESET_TTL_SECONDS', '30m', 'must be a whole number'],
    ['MAILS_PER_ACCOUNT_PER_HOUR', '0', 'must be at least 1'],
    ['MAILS_PER_ACCOUNT_PER_HOUR', '1001', 'must be at most 1000'],
    ['THROTTLE_IP_MAILS', '0', 'must be at least 1'],
    ['THROTTLE_IP_MAILS', '-5', 'must be a whole number'],
  ])('refuses %s=%s: %s', (variable, value, rule) => {
    // Act
    const error = configError({ [variable]: value });

    // Assess
    expect(error.message).toContain(`${variable} ${rule}`);
  });

  it('reads THROTTLE_IP_MAILS into the throttle settings', () => {
    expect(loadConfig({ THROTTLE_IP_MAILS: '999999999' }, 'local').throttle.ipMails).toBe(999_999_999);
  });

  it.each([
    ['no-reply@example.com', 'no-reply@example.com'],
    ['Acme Login <no-reply@example.com>', 'Acme Login <no-reply@example.com>'],
    ['"Acme, Inc." <no-reply@example.com>', '"Acme, Inc." <no-reply@example.com>'],
    ['  Zoë <zoe@bücher.example>  ', 'Zoë <zoe@bücher.example>'],
  ])('accepts MAIL_FROM=%j as %j', (value, from) => {
    // Act
    const config = loadConfig({ MAIL_FROM: value }, 'local');

    // Assess
    expect(config.mail.from).toBe(from);
  });

  it.each([
    'no-reply@example.com\r\nBcc: victim@example.com',
    'Acme\n<no-reply@example.com>',
    'Acme <no-reply@example.com>\r\nX-Injected: 1',
    'no-reply',
    'a@b.c, d@e.f',
    'Acme <no-reply@example.com> trailing',
    'Acme <>',
  ])('refuses MAIL_FROM=%j: it becomes a header, one address, no line break', (value) => {
    // Act
    const error = configError({ MAIL_FROM: value });

    // Assess
    expect(error.message).toContain('MAIL_FROM must be an address, or a name and <address>');
  });

  it('refuses SMTP_URL without MAIL_FROM, naming MAIL_FROM, locally and on Lambda', () => {
    for (const runtime of ['local', 'lambda'] as const) {
      // Act
      const error = configError({ ...LAMBDA_ENV, SMTP_URL: SMTP.SMTP_URL }, runtime);

      // Assess
      expect(error.message).toContain('MAIL_FROM is required with SMTP_URL');
      expect(error.message).not.toContain('s3cret-pw');
    }
  });

  it.each(['http://mail.example.com', 'imap://mailer:s3cret-pw@mail.example.com', 'mail.example.com:587', 'smtp://', 'SMTP://mail.example.com'])(
    'refuses SMTP_URL=%j (smtp:// or smtps:// only) without echoing it',
    (value) => {
      // Act
      const error = configError({ SMTP_URL: value, MAIL_FROM: SMTP.MAIL_FROM });

      // Assess
      expect(error.message).toContain('SMTP_URL must be smtp://user:pass@host:port or smtps://');
      expect(error.message).not.toContain('s3cret-pw');
    },
  );

  it.each([
    ['https://app.example.com', 'https://app.example.com'],
    ['https://app.example.com/', 'https://app.example.com'],
    ['https://app.example.com/login//', 'https://app.example.com/login'],
    [' http://localhost:5173 ', 'http://localhost:5173'],
  ])('accepts APP_URL=%j, its trailing slashes dropped: %j', (value, appUrl) => {
    // Act
    const config = loadConfig({ APP_URL: value }, 'local');

    // Assess
    expect(config.mail.appUrl).toBe(appUrl);
  });

  it.each([
    'https://app.example.com/?ref=mail',
    'https://app.example.com/#/home',
    'https://app.example.com/?',
    'https://app.example.com#',
    'ftp://app.example.com',
    'app.example.com',
    'javascript:alert(1)',
  ])('refuses APP_URL=%j: the links add their own fragment, to an http(s) page', (value) => {
    // Act
    const error = configError({ APP_URL: value });

    // Assess
    expect(error.message).toContain('APP_URL must be an http(s) URL without a user, password, query or fragment');
  });

  // messages.ts refuses such a base at every send: start-up must name APP_URL instead of every mail failing.
  it('refuses APP_URL with a user or password in it, as the mail templates do', () => {
    const error = configError({ APP_URL: 'https://admin:hunter2@app.example.com' });

    expect(error.message).toContain('APP_URL');
    expect(error.message).not.toContain('hunter2');
  });

  it.each([
    [{ MAIL_FROM: 'no-reply@example.com' }, 'MAIL_FROM'],
    [SMTP, 'SMTP_URL'],
  ])('refuses Lambda sending mail (%j) without APP_URL, naming APP_URL', (env, _via) => {
    // Act
    const error = configError({ ...LAMBDA_ENV, ...env }, 'lambda');

    // Assess
    expect(error.message).toContain('APP_URL is required on Lambda');
    expect(error.message).not.toContain('s3cret-pw');
  });

  it('starts on Lambda without APP_URL when no mail can be sent, and locally with SMTP but no APP_URL', () => {
    expect(loadConfig(LAMBDA_ENV, 'lambda').mailer).toEqual({ kind: 'none' });
    expect(loadConfig(SMTP, 'local').mail.appUrl).toBeUndefined();
  });

  it('sends over SMTP when SMTP_URL is set, locally and on Lambda, even where SES could', () => {
    // Prepare
    const sesToo = { ...SMTP, APP_URL: 'https://app.example.com', AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:8005' };

    // Act
    const local = loadConfig(sesToo, 'local');
    const lambda = loadConfig({ ...LAMBDA_ENV, ...sesToo }, 'lambda');

    // Assess
    const smtp = { kind: 'smtp', url: SMTP.SMTP_URL, from: SMTP.MAIL_FROM };
    expect(local.mailer).toEqual(smtp);
    expect(lambda.mailer).toEqual(smtp);
    expect(Object.isFrozen(lambda.mailer)).toBe(true);
  });

  it('sends through SES on Lambda with MAIL_FROM: its endpoint, region and configuration set', () => {
    // Act
    const config = loadConfig(
      {
        ...LAMBDA_ENV,
        MAIL_FROM: 'Acme <no-reply@example.com>',
        APP_URL: 'https://app.example.com',
        AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:8005',
        SES_CONFIGURATION_SET: 'login-mail_1',
      },
      'lambda',
    );

    // Assess
    expect(config.mailer).toEqual({
      kind: 'ses',
      from: 'Acme <no-reply@example.com>',
      endpoint: 'http://127.0.0.1:8005',
      region: 'eu-west-1',
      configurationSet: 'login-mail_1',
    });
  });

  it("uses AWS's SES endpoint and AWS_DEFAULT_REGION when only those are given", () => {
    // Prepare
    const env = { JWT_SECRET: SECRET_32, REFRESH_TOKEN_SECRET: SECRET_32, AWS_DEFAULT_REGION: 'ap-south-1' };

    // Act
    const config = loadConfig({ ...env, MAIL_FROM: 'no-reply@example.com', APP_URL: 'https://app.example.com' }, 'lambda');

    // Assess
    expect(config.mailer).toEqual({
      kind: 'ses',
      from: 'no-reply@example.com',
      endpoint: undefined,
      region: 'ap-south-1',
      configurationSet: undefined,
    });
  });

  it.each(['AWS_ENDPOINT_URL_SESV2=localhost:8005', 'SES_CONFIGURATION_SET=has space', 'SES_CONFIGURATION_SET=' + 'x'.repeat(65)])(
    'refuses %s naming it',
    (assignment) => {
      // Prepare
      const [name, value] = assignment.split('=') as [string, string];

      // Act
      const error = configError({ [name]: value });

      // Assess
      expect(error.message).toContain(name);
    },
  );

  it('writes to the outbox locally, from MAIL_FROM or the default sender, whatever SES settings say', () => {
    // Act
    const plain = loadConfig({}, 'local');
    const named = loadConfig({ MAIL_FROM: 'Dev <dev@example.test>', AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:8005' }, 'local');

    // Assess
    expect(plain.mailer).toEqual({ kind: 'outbox', from: 'login-service <no-reply@localhost>' });
    expect(named.mailer).toEqual({ kind: 'outbox', from: 'Dev <dev@example.test>' });
  });

  it('sends nothing on Lambda without MAIL_FROM or SMTP_URL, whatever SES settings say', () => {
    // Act
    const config = loadConfig(
      { ...LAMBDA_ENV, AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:8005', SES_CONFIGURATION_SET: 'login-mail' },
      'lambda',
    );

    // Assess
    expect(config.mailer).toEqual({ kind: 'none' });
  });

  describe('passkeys (WebAuthn)', () => {
    it('defaults locally to localhost and the server\'s own URL; on Lambda they are off without both settings', () => {
      expect(loadConfig({}, 'local').passkeys).toMatchObject({ rpId: 'localhost', origins: null });
      expect(loadConfig(LAMBDA_ENV, 'lambda').passkeys).toBeNull();
      const on = loadConfig({ ...LAMBDA_ENV, WEBAUTHN_RP_ID: 'Example.com', WEBAUTHN_ORIGINS: 'https://example.com, https://app.example.com' }, 'lambda');
      expect(on.passkeys).toEqual({
        rpId: 'example.com',
        rpName: 'login-service',
        origins: ['https://example.com', 'https://app.example.com'],
        challengeTtlSeconds: 300,
      });
    });

    it.each([
      [{ WEBAUTHN_RP_ID: 'example.com' }, 'lambda', 'WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS go together'],
      [{ WEBAUTHN_ORIGINS: 'https://example.com' }, 'lambda', 'WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS go together'],
      [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://evil.test' }, 'lambda', 'WEBAUTHN_ORIGINS https://evil.test must be'],
      [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'http://example.com' }, 'lambda', 'WEBAUTHN_ORIGINS http://example.com must be'],
      [{ WEBAUTHN_RP_ID: 'https://example.com' }, 'local', 'WEBAUTHN_RP_ID must be a host name'],
      [{ WEBAUTHN_RP_ID: 'example.com' }, 'local', 'WEBAUTHN_RP_ID example.com needs WEBAUTHN_ORIGINS'],
      [{ MFA_ISSUER: 'Acme:Login' }, 'local', 'MFA_ISSUER must not contain ":"'],
    ] as const)('refuses %j on %s, naming the setting', (env, runtime, message) => {
      expect(() => loadConfig({ ...(runtime === 'lambda' ? LAMBDA_ENV : {}), ...env }, runtime)).toThrow(message);
    });
  });

  it('names the product in mails after MAIL_PRODUCT_NAME, and refuses an empty-looking one', () => {
    expect(loadConfig({ MAIL_PRODUCT_NAME: ' Acme Login ' }, 'local').mail.productName).toBe('Acme Login');
    expect(configError({ MAIL_PRODUCT_NAME: '   ' }).message).toContain('MAIL_PRODUCT_NAME must not be empty');
  });
});
