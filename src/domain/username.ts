// Username rules: one normalization for every read and write, so `Alice` and `alice` are one account.
import { invalidField } from './errors';

/**
 * NFKC, lower case, NFKC again: applied before every lookup and write. Lower-casing can undo NFKC (`J` + U+030C
 * lower-cases to `j` + U+030C, which composes to `ǰ`), so the second pass makes the result a fixed point:
 * normalizing a normalized name changes nothing. Lower case, not full case folding, which would map `ß` to `ss`
 * and merge existing accounts.
 */
export const normalizeUsername = (raw: string): string => raw.normalize('NFKC').toLowerCase().normalize('NFKC');

// What normalizeUsername did before it was a fixed point; accounts registered then are stored under it.
const previousNormalization = (raw: string): string => raw.normalize('NFKC').toLowerCase();
// What the tutorial's register stored: lower case and trimmed, no Unicode normalization.
const tutorialKey = (raw: string): string => raw.toLowerCase().trim();

// DynamoDB refuses an empty key and one of more than 2048 bytes of UTF-8.
const MAX_KEY_BYTES = 2048;

const utf8Length = (text: string): number => {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
};

/**
 * The other keys an existing account may be stored under for what the user typed, in the order to try them:
 * the previous normalization (NFKC then lower case), then the tutorial's (lower case, trimmed). Never the current
 * key, no duplicates, and only keys a store can hold.
 */
export const legacyUsernameKeys = (typed: string): string[] => {
  const current = normalizeUsername(typed);
  const keys: string[] = [];
  for (const key of [previousNormalization(typed), tutorialKey(typed)]) {
    if (key === current || keys.includes(key) || key === '' || utf8Length(key) > MAX_KEY_BYTES) continue;
    keys.push(key);
  }
  return keys;
};

export const codePointLength = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

// Unicode letters (with the combining marks many scripts need, at most three in a row: no "zalgo" stacks),
// decimal digits and ._-@+ ; a mark never starts a name.
const REGISTRABLE_USERNAME = /^[\p{L}\p{Nd}._\-@+](?:[\p{L}\p{Nd}._\-@+]|\p{M}(?!\p{M}{3}))*$/u;

/**
 * The normalized username a new account may take (3-64 code points, one script as UTS #39's "highly
 * restrictive" level allows), or an invalid_request naming `username`.
 */
export const registrableUsername = (raw: string): string => {
  const username = normalizeUsername(raw);
  const length = codePointLength(username);
  if (length < 3 || length > 64 || !REGISTRABLE_USERNAME.test(username)) {
    throw invalidField('username', 'username must be 3 to 64 letters, digits or . _ - @ +');
  }
  if (!isHighlyRestrictive(username)) {
    throw invalidField(
      'username',
      'username must be in one script (or Latin with Chinese, Japanese or Korean), not mixed like Latin and Cyrillic',
    );
  }
  return username;
};

export const MAX_LOGIN_USERNAME_LENGTH = 256;

/**
 * Login accepts any legacy name as typed: non-empty, at most 256 code points, then normalized the same way.
 * (NFKC can expand it past what a store key holds; the store then reports an unknown user.)
 */
export const loginUsername = (raw: string): string => {
  const length = codePointLength(raw);
  if (length === 0 || length > MAX_LOGIN_USERNAME_LENGTH) {
    throw invalidField('username', `username must be 1 to ${MAX_LOGIN_USERNAME_LENGTH} characters`);
  }
  return normalizeUsername(raw);
};

// Mixed scripts (UTS #39, section 5): a Latin name with one Cyrillic `а` looks like another account. Registration
// allows UTS #39's "highly restrictive" level: one script, or Latin with Han and Japanese kana, with Han and
// Bopomofo, or with Han and Hangul. Characters of the Common and Inherited scripts (digits, . _ - @ +,
// most combining marks) go with any script.

// Every Unicode script by its long name (Unicode 17). An engine whose Unicode is older skips the names it does
// not know; a letter of a script this list lacks has no script here, and its name is refused, never let through.
const SCRIPT_NAMES = [
  'Adlam', 'Ahom', 'Anatolian_Hieroglyphs', 'Arabic', 'Armenian', 'Avestan', 'Balinese', 'Bamum', 'Bassa_Vah',
  'Batak', 'Bengali', 'Beria_Erfe', 'Bhaiksuki', 'Bopomofo', 'Brahmi', 'Braille', 'Buginese', 'Buhid',
  'Canadian_Aboriginal', 'Carian', 'Caucasian_Albanian', 'Chakma', 'Cham', 'Cherokee', 'Chorasmian', 'Coptic',
  'Cuneiform', 'Cypriot', 'Cypro_Minoan', 'Cyrillic', 'Deseret', 'Devanagari', 'Dives_Akuru', 'Dogra', 'Duployan',
  'Egyptian_Hieroglyphs', 'Elbasan', 'Elymaic', 'Ethiopic', 'Garay', 'Georgian', 'Glagolitic', 'Gothic', 'Grantha',
  'Greek', 'Gujarati', 'Gunjala_Gondi', 'Gurmukhi', 'Gurung_Khema', 'Han', 'Hangul', 'Hanifi_Rohingya', 'Hanunoo',
  'Hatran', 'Hebrew', 'Hiragana', 'Imperial_Aramaic', 'Inscriptional_Pahlavi', 'Inscriptional_Parthian', 'Javanese',
  'Kaithi', 'Kannada', 'Katakana', 'Kawi', 'Kayah_Li', 'Kharoshthi', 'Khitan_Small_Script', 'Khmer', 'Khojki',
  'Khudawadi', 'Kirat_Rai', 'Lao', 'Latin', 'Lepcha', 'Limbu', 'Linear_A', 'Linear_B', 'Lisu', 'Lycian', 'Lydian',
  'Mahajani', 'Makasar', 'Malayalam', 'Mandaic', 'Manichaean', 'Marchen', 'Masaram_Gondi', 'Medefaidrin',
  'Meetei_Mayek', 'Mende_Kikakui', 'Meroitic_Cursive', 'Meroitic_Hieroglyphs', 'Miao', 'Modi', 'Mongolian', 'Mro',
  'Multani', 'Myanmar', 'Nabataean', 'Nag_Mundari', 'Nandinagari', 'New_Tai_Lue', 'Newa', 'Nko', 'Nushu',
  'Nyiakeng_Puachue_Hmong', 'Ogham', 'Ol_Chiki', 'Ol_Onal', 'Old_Hungarian', 'Old_Italic', 'Old_North_Arabian',
  'Old_Permic', 'Old_Persian', 'Old_Sogdian', 'Old_South_Arabian', 'Old_Turkic', 'Old_Uyghur', 'Oriya', 'Osage',
  'Osmanya', 'Pahawh_Hmong', 'Palmyrene', 'Pau_Cin_Hau', 'Phags_Pa', 'Phoenician', 'Psalter_Pahlavi', 'Rejang',
  'Runic', 'Samaritan', 'Saurashtra', 'Sharada', 'Shavian', 'Siddham', 'Sidetic', 'SignWriting', 'Sinhala',
  'Sogdian', 'Sora_Sompeng', 'Soyombo', 'Sundanese', 'Sunuwar', 'Syloti_Nagri', 'Syriac', 'Tagalog', 'Tagbanwa',
  'Tai_Le', 'Tai_Tham', 'Tai_Viet', 'Tai_Yo', 'Takri', 'Tamil', 'Tangsa', 'Tangut', 'Telugu', 'Thaana', 'Thai',
  'Tibetan', 'Tifinagh', 'Tirhuta', 'Todhri', 'Tolong_Siki', 'Toto', 'Tulu_Tigalari', 'Ugaritic', 'Vai', 'Vithkuqi',
  'Wancho', 'Warang_Citi', 'Yezidi', 'Yi', 'Zanabazar_Square',
];

// UTS #39's augmented script sets: Han also counts as Japanese, Korean and Han-with-Bopomofo, kana as Japanese,
// Hangul as Korean, Bopomofo as Han-with-Bopomofo; so Han with kana is one script (Japanese), as a reader sees it.
const AUGMENTED: Readonly<Record<string, readonly string[]>> = {
  Han: ['Han_with_Bopomofo', 'Japanese', 'Korean'],
  Hiragana: ['Japanese'],
  Katakana: ['Japanese'],
  Hangul: ['Korean'],
  Bopomofo: ['Han_with_Bopomofo'],
};

// The highly restrictive level's allowed mixes, in augmented scripts.
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ['Latin', 'Japanese'],
  ['Latin', 'Han_with_Bopomofo'],
  ['Latin', 'Korean'],
];

const WITH_ANY_SCRIPT = /^[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]$/u;

// Built on the first registration, not at cold start: login never needs them.
let scriptPatterns: { name: string; pattern: RegExp }[] | undefined;
const knownScripts = () =>
  (scriptPatterns ??= SCRIPT_NAMES.flatMap((name) => {
    try {
      return [{ name, pattern: new RegExp(`^\\p{Script_Extensions=${name}}$`, 'u') }];
    } catch {
      return [];
    }
  }));

/** The scripts a character is written in (its Script_Extensions, augmented), as UTS #39 counts them. */
const augmentedScripts = (char: string): Set<string> => {
  const scripts = new Set<string>();
  for (const { name, pattern } of knownScripts()) {
    if (!pattern.test(char)) continue;
    scripts.add(name);
    for (const extra of AUGMENTED[name] ?? []) scripts.add(extra);
  }
  return scripts;
};

/** UTS #39 "highly restrictive": a single (augmented) script, or covered by one of the allowed mixes. */
export const isHighlyRestrictive = (text: string): boolean => {
  const sets: Set<string>[] = [];
  for (const char of text) if (!WITH_ANY_SCRIPT.test(char)) sets.push(augmentedScripts(char));
  const [first, ...rest] = sets;
  if (first === undefined) return true;
  const shared = [...first].filter((script) => rest.every((set) => set.has(script)));
  if (shared.length > 0) return true;
  return ALLOWED_MIXES.some((mix) => sets.every((set) => mix.some((script) => set.has(script))));
};

/** The script names this engine knows, of those listed: for a test that no letter is left without a script. */
export const knownScriptNames = (): string[] => knownScripts().map(({ name }) => name);
