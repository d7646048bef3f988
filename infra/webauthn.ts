// Passkeys on Lambda (`-c webauthnRpId=example.com -c webauthnOrigins=https://example.com,...`): the function's
// WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, checked at synth so a half or wrong relying party fails here and not at the
// cold start (where loadConfig would refuse it and every route would fail, passwords included).
// src/config.ts keeps its rules private, so they are restated here; webauthn.test.ts runs a list of cases through
// both this and loadConfig and checks that they agree.

/** Named as the context keys they come from, so an error can name the key to pass. */
export type WebAuthnProps = {
  /** The relying party id: the site's host name, no scheme or port (WEBAUTHN_RP_ID). */
  webauthnRpId?: string;
  /** The origins passkeys may be used from: https on the RP id or a subdomain of it (WEBAUTHN_ORIGINS). */
  webauthnOrigins?: readonly string[];
};

// src/config.ts's host name rule for WEBAUTHN_RP_ID (applied after trimming and lower-casing, as there).
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** An origin exactly as a browser sends it (scheme, host, port; no path, no trailing slash), as src/config.ts reads one. */
const isOrigin = (value: string) => {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
};

/** WebAuthn's rule, as src/config.ts's fitsRpId: the host is the RP id or a subdomain of it, over https (or localhost). */
const fitsRpId = (origin: string, rpId: string) => {
  const url = new URL(origin);
  const host = url.hostname;
  return (host === rpId || host.endsWith(`.${rpId}`)) && (url.protocol === 'https:' || host === 'localhost');
};

/**
 * The function's passkey settings: both or none (none: passkeys are off and their routes answer 404).
 * Throws naming the context key that is missing or wrong.
 */
export const webauthnEnvironment = (props: WebAuthnProps): Record<string, string> => {
  const { webauthnRpId, webauthnOrigins } = props;
  if (webauthnRpId === undefined && webauthnOrigins === undefined) return {};
  if (webauthnOrigins === undefined) {
    throw new Error('webauthnRpId needs webauthnOrigins: pass -c webauthnOrigins=https://... (where passkeys are used), or neither');
  }
  if (webauthnRpId === undefined) {
    throw new Error('webauthnOrigins needs webauthnRpId: pass -c webauthnRpId=HOST (the site host name), or neither');
  }
  const rpId = webauthnRpId.trim().toLowerCase();
  if (!HOST_NAME.test(rpId)) {
    throw new Error(`webauthnRpId must be a host name such as example.com (no scheme, no port), got "${webauthnRpId}"`);
  }
  const origins = webauthnOrigins.map((origin) => origin.trim()).filter((origin) => origin !== '');
  if (origins.length === 0) throw new Error('webauthnOrigins must list at least one origin, such as https://example.com');
  const malformed = origins.filter((origin) => !isOrigin(origin));
  if (malformed.length > 0) {
    throw new Error(`webauthnOrigins: ${malformed.join(', ')} must be origins such as https://app.example.com (no path, no trailing slash)`);
  }
  const stray = origins.filter((origin) => !fitsRpId(origin, rpId));
  if (stray.length > 0) {
    throw new Error(`webauthnOrigins: ${stray.join(', ')} must be https on webauthnRpId ${rpId} or a subdomain of it`);
  }
  return { WEBAUTHN_RP_ID: rpId, WEBAUTHN_ORIGINS: origins.join(',') };
};
