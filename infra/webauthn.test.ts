// The passkey options' rules at synth (-c webauthnRpId, -c webauthnOrigins): what passes, what fails and how, and
// that they agree case by case with what the function's own config (loadConfig on Lambda) accepts.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { webauthnEnvironment, type WebAuthnProps } from './webauthn';

// What loadConfig needs on Lambda besides the passkey settings (values are never used to sign anything here).
const LAMBDA = {
  JWT_SECRET: 'webauthn-option-test-signing-secret-32-bytes',
  REFRESH_TOKEN_SECRET: 'webauthn-option-test-refresh-secret-32-bytes',
  AWS_REGION: 'us-east-1',
};

const lambdaConfig = (env: Record<string, string>) => loadConfig({ ...LAMBDA, ...env }, 'lambda');

describe('webauthnEnvironment', () => {
  it('sets nothing without either option (passkeys off)', () => {
    expect(webauthnEnvironment({})).toEqual({});
    expect(lambdaConfig(webauthnEnvironment({})).passkeys).toBeNull();
  });

  it('sets both settings, as the function reads them back', () => {
    const env = webauthnEnvironment({ webauthnRpId: 'Example.com', webauthnOrigins: ['https://example.com', ' https://app.example.com'] });

    expect(env).toEqual({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com,https://app.example.com' });
    expect(lambdaConfig(env).passkeys).toMatchObject({
      rpId: 'example.com',
      origins: ['https://example.com', 'https://app.example.com'],
    });
  });

  it.each([
    ['webauthnOrigins', { webauthnRpId: 'example.com' }, 'webauthnRpId needs webauthnOrigins: pass -c webauthnOrigins='],
    ['webauthnRpId', { webauthnOrigins: ['https://example.com'] }, 'webauthnOrigins needs webauthnRpId: pass -c webauthnRpId='],
  ])('names %s when only the other is given', (_missing, props: WebAuthnProps, message) => {
    expect(() => webauthnEnvironment(props)).toThrow(message);
  });

  it.each([
    ['plain http', 'http://app.example.com', /webauthnOrigins: http:\/\/app.example.com must be https on webauthnRpId example.com/],
    ['another site', 'https://example.org', /webauthnOrigins: https:\/\/example.org must be https on webauthnRpId/],
    ['a name that only ends like it', 'https://notexample.com', /webauthnOrigins: https:\/\/notexample.com must be https/],
    ['a path', 'https://example.com/login', /must be origins such as https:\/\/app.example.com/],
    ['no scheme', 'example.com', /must be origins such as/],
  ])('refuses an origin on %s', (_case, origin, message) => {
    expect(() => webauthnEnvironment({ webauthnRpId: 'example.com', webauthnOrigins: ['https://example.com', origin] })).toThrow(message);
  });

  it('refuses an RP id with a scheme or a port, and an empty origin list', () => {
    expect(() => webauthnEnvironment({ webauthnRpId: 'https://example.com', webauthnOrigins: ['https://example.com'] })).toThrow(
      /webauthnRpId must be a host name such as example.com/,
    );
    expect(() => webauthnEnvironment({ webauthnRpId: 'example.com:443', webauthnOrigins: ['https://example.com'] })).toThrow(
      /webauthnRpId must be a host name/,
    );
    expect(() => webauthnEnvironment({ webauthnRpId: 'example.com', webauthnOrigins: [] })).toThrow(
      'webauthnOrigins must list at least one origin',
    );
  });
});

describe('webauthnEnvironment and loadConfig agree', () => {
  // [rpId, origins]: accepted and refused cases of each rule (host name, origin shape, fit to the RP id).
  const CASES: [string, string[]][] = [
    ['example.com', ['https://example.com']],
    ['example.com', ['https://app.example.com', 'https://a.b.example.com']],
    ['example.com', ['https://example.com:8443']],
    ['EXAMPLE.com', ['https://Example.COM']],
    ['app.example.com', ['https://example.com']],
    ['example.com', ['http://example.com']],
    ['example.com', ['https://example.com.evil.org']],
    ['example.com', ['https://badexample.com']],
    ['example.com', ['https://example.com/']],
    ['example.com', ['https://example.com/login']],
    ['example.com', ['ftp://example.com']],
    ['example.com', ['https://user@example.com']],
    ['example.com', ['https://example.com', 'http://app.example.com']],
    ['localhost', ['http://localhost:3000']],
    ['localhost', ['https://localhost']],
    ['example.com', ['http://localhost:3000']],
    ['example.com.', ['https://example.com']],
    ['-example.com', ['https://example.com']],
    ['example.com:443', ['https://example.com']],
    ['https://example.com', ['https://example.com']],
    ['exa_mple.com', ['https://exa_mple.com']],
    ['xn--bcher-kva.example', ['https://xn--bcher-kva.example']],
    ['bücher.example', ['https://xn--bcher-kva.example']],
    ['example.com', ['https://bücher.example.com']],
    ['127.0.0.1', ['https://127.0.0.1']],
  ];

  const cdkAccepts = (rpId: string, origins: string[]) => {
    try {
      webauthnEnvironment({ webauthnRpId: rpId, webauthnOrigins: origins });
      return true;
    } catch {
      return false;
    }
  };
  const configAccepts = (rpId: string, origins: string[]) => {
    try {
      // As the stack passes them: the list joined with commas.
      return lambdaConfig({ WEBAUTHN_RP_ID: rpId, WEBAUTHN_ORIGINS: origins.join(',') }).passkeys !== null;
    } catch (error) {
      if (error instanceof ConfigError) return false;
      throw error;
    }
  };

  it.each(CASES)('RP id %s with origins %j', (rpId, origins) => {
    expect(cdkAccepts(rpId, origins)).toBe(configAccepts(rpId, origins));
  });

  it('has both outcomes among its cases, so agreement means something', () => {
    const outcomes = CASES.map(([rpId, origins]) => configAccepts(rpId, origins));

    expect(outcomes.filter(Boolean).length).toBeGreaterThanOrEqual(5);
    expect(outcomes.filter((accepted) => !accepted).length).toBeGreaterThanOrEqual(10);
  });
});
