// Request body schemas (valibot): the shape and types at the edge; the use cases own the business rules.
import * as v from 'valibot';
import { AppError, ERROR_CODES, invalidField } from '../../domain/errors';

// A lone surrogate cannot be stored or hashed faithfully; \p{Cs} with the u flag matches only unpaired ones.
const text = v.pipe(
  v.string(),
  v.check((s) => !/\p{Cs}/u.test(s), 'invalid Unicode'),
);

export const RegisterBody = v.object({ name: text, username: text, password: text, email: v.optional(text) });
/** By username (the tutorial's) or by verified email address: one of the two (the use case says so). */
export const LoginBody = v.object({ username: v.optional(text), email: v.optional(text), password: text });
export const VerifyBody = v.object({
  token: v.optional(text),
  username: v.optional(text),
  user: v.optional(v.object({ username: v.optional(text) })),
});

export const RefreshBody = v.object({ refreshToken: text });
export const LogoutBody = v.object({ refreshToken: v.optional(text) });
export const ChangePasswordBody = v.object({ currentPassword: text, newPassword: text });
export const DeleteAccountBody = v.object({ password: text });
export const VerifyEmailBody = v.object({ token: text });
export const ChangeEmailBody = v.object({ email: text, password: text });
export const ForgotPasswordBody = v.object({ username: v.optional(text), email: v.optional(text) });
export const ResetPasswordBody = v.object({ token: text, newPassword: text });
export const PasswordBody = v.object({ password: text });
/** A second factor: a TOTP code or a recovery code (one of the two where one is asked for). */
const factor = { code: v.optional(text), recoveryCode: v.optional(text) };
export const ConfirmTotpBody = v.object({ code: text });
export const ProveFactorsBody = v.object({ password: text, ...factor });
export const LoginMfaBody = v.object({ mfaToken: text, ...factor });
/** A WebAuthn response as the browser's startRegistration / startAuthentication gives it (checked by the library). */
const webAuthnResponse = v.looseObject({});
export const AddPasskeyBody = v.object({ response: webAuthnResponse, name: v.optional(text) });
export const PasskeyLoginBody = v.object({ response: webAuthnResponse });
export const EmptyBody = v.object({});

/** Parses a raw body as a JSON object, or throws invalid_json / invalid_request. Empty means `{}` when allowed. */
export const parseJsonObject = (raw: string, { allowEmpty = false } = {}): unknown => {
  if (raw.trim() === '' && allowEmpty) return {};
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new AppError('invalid_json', 'the request body must be valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('invalid_request', 'the request body must be a JSON object');
  }
  return body;
};

/** Validates with a schema; the first problem becomes an invalid_request naming its field. */
export const validate = <S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> => {
  const result = v.safeParse(schema, body);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = (issue.path ?? []).map((item) => String(item.key)).join('.') || 'body';
  const problem =
    issue.input === undefined
      ? 'is required'
      : issue.type === 'check'
        ? 'must be valid Unicode text'
        : issue.type === 'object'
          ? 'must be an object'
          : 'must be a string';
  throw invalidField(field, `${field} ${problem}`);
};

// Response bodies: what each route answers on success (the OpenAPI document and its contract tests use them).
const PublicUserSchema = v.object({ username: v.string(), name: v.string() });
export const RegisterResponse = v.object({ username: v.string() });
export const TokenPairResponse = v.object({
  user: PublicUserSchema,
  token: v.string(),
  tokenType: v.literal('Bearer'),
  expiresIn: v.number(),
  refreshToken: v.string(),
  refreshExpiresIn: v.number(),
});
export const VerifyResponse = v.object({
  verified: v.literal(true),
  message: v.literal('success'),
  username: v.string(),
  user: PublicUserSchema,
});
export const MeResponse = v.object({
  user: v.object({
    username: v.string(),
    name: v.string(),
    createdAt: v.nullable(v.string()),
    email: v.nullable(v.string()),
    emailVerified: v.boolean(),
    /** An address waiting for verification by a change (the verified one stays in force until then). */
    pendingEmail: v.nullable(v.string()),
    mfa: v.object({ totp: v.boolean(), passkeys: v.number(), recoveryCodesLeft: v.number() }),
  }),
});
export const TotpEnrolmentResponse = v.object({ secret: v.string(), otpauthUri: v.string() });
/** Shown this once: only their digests are kept. */
export const RecoveryCodesResponse = v.object({ recoveryCodes: v.array(v.string()) });
/** WebAuthn options JSON, as @simplewebauthn/browser's startRegistration / startAuthentication take them. */
export const WebAuthnOptionsResponse = v.record(v.string(), v.unknown());
export const PasskeyResponse = v.object({ id: v.string(), name: v.string(), createdAt: v.string() });
export const PasskeyListResponse = v.object({
  passkeys: v.array(
    v.object({
      id: v.string(),
      name: v.string(),
      createdAt: v.string(),
      lastUsedAt: v.nullable(v.string()),
      backedUp: v.boolean(),
    }),
  ),
});
export const VerifyEmailResponse = v.object({ username: v.string(), email: v.string(), emailVerified: v.literal(true) });
/** A mail was asked for: what happens next is said in words, never whether an account exists. */
export const AcceptedResponse = v.object({ message: v.string() });
export const JwksResponse = v.object({ keys: v.array(v.record(v.string(), v.unknown())) });
export const HealthResponse = v.object({ status: v.literal('ok') });

/** Every error body: a stable `code` (the document narrows it per route and status), a message for people. */
export const ErrorResponse = v.object({
  code: v.picklist(ERROR_CODES),
  message: v.string(),
  /** invalid_request: the field at fault. */
  field: v.optional(v.string()),
  /** weak_password: why the password was refused. */
  reasons: v.optional(v.array(v.string())),
});
/** A login's errors; a right password of an account with a second factor is a 403 mfa_required with the step-up. */
export const LoginErrorResponse = v.object({
  ...ErrorResponse.entries,
  /** mfa_required: the step-up token for POST /login/mfa (lasts MFA_TOKEN_TTL_SECONDS, works once). */
  mfaToken: v.optional(v.string()),
  /** mfa_required: what the second step may be ("passkey": sign in with /login/passkey instead). */
  methods: v.optional(v.array(v.picklist(['totp', 'recovery_code', 'passkey']))),
});
/** /verify answers errors with `verified: false` too, as tutorial clients read that flag. */
export const VerifyErrorResponse = v.object({ ...ErrorResponse.entries, verified: v.literal(false) });
/** GET /openapi.json: the document itself, an object of OpenAPI's fields (its own schema is OpenAPI's). */
export const OpenApiResponse = v.record(v.string(), v.unknown());
