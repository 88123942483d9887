/**
 * Why an IPN signature does (not) verify, in plain words: the logic behind `okepay doctor` and the
 * local pipeline's list of recent 401s.
 *
 * Every check goes through the verifier in signature.ts (tolerance switched off, then measured
 * separately), so the doctor can never disagree with the endpoint about what verifies. It tries, in
 * order: the configured scheme over the raw body, the other scheme, then forms of the body a framework
 * or a copy-paste may have changed (re-serialised JSON, BOM, line endings, encodings), and reports the
 * first thing that verifies.
 *
 * Secrets are named by their 1-based position in the configured list, never by value, and no HMAC
 * computed here is returned: the result is safe to print, log and show in a browser.
 */
import { isLosslessNumber, LosslessNumber, parse as parseLosslessJson } from 'lossless-json';
import { SignatureVerificationError } from './errors.ts';
import {
  parseSignatureHeader,
  SIGNATURE_SCHEMES,
  type SignatureScheme,
  verifySignatureMatch,
} from './signature.ts';

export type SignatureVerdict =
  /** No `X-Okepay-Signature` header, or an empty one. */
  | 'missing_header'
  /** A header that is not `t=<unix seconds>,v1=<64 hex digits>`. */
  | 'malformed_header'
  /** Nothing verifies and the body is empty: it was lost (usually read by a body parser) before this point. */
  | 'empty_body'
  /** No configured secret verifies, under either scheme, over the body or any variant tried. */
  | 'wrong_secret'
  /** It verifies under the other scheme. */
  | 'wrong_scheme'
  /** It verifies over a re-serialised or re-encoded form of the body, not over the bytes given. */
  | 'body_reserialised'
  /** The signature is valid but its timestamp is outside the tolerance. */
  | 'clock_skew'
  /** The endpoint accepts it. */
  | 'valid';

export interface DiagnoseSignatureInput {
  /** The `X-Okepay-Signature` value; undefined when the request had none. */
  header: string | undefined;
  /** The body exactly as received (or as captured). */
  rawBody: Buffer;
  /** The endpoint's configured secrets, in their configured order. */
  secrets: readonly string[];
  /** The endpoint's configured scheme. */
  scheme: SignatureScheme;
  toleranceSeconds: number;
  /** When the request was received, in milliseconds since the epoch: the skew is measured from here. */
  nowMs: number;
}

/** What verified: by position and name only. */
export interface SignatureMatchFound {
  /** 1-based position of the secret in the configured list. */
  secretPosition: number;
  scheme: SignatureScheme;
  /** Set when only a changed form of the body verifies. */
  bodyVariant?: { id: string; description: string };
  /** Set when the configured secret verifies only once cleaned of surrounding whitespace or quotes. */
  secretNeeds?: 'trimming';
}

export interface SignatureDiagnosis {
  verdict: SignatureVerdict;
  /** True for `valid` only: the endpoint, configured as given, accepts this request's signature. */
  valid: boolean;
  /** One line: what the problem is. */
  title: string;
  /** What was found, in plain words. */
  explanation: string;
  /** What to do about it. */
  fix: string;
  settings: { scheme: SignatureScheme; toleranceSeconds: number; secretsTried: number };
  /** When the header could be read: its timestamp (unix seconds) and how many v1 signatures it has. */
  header?: { timestamp: number; signatures: number };
  /** Now minus `t`, in seconds: positive when the timestamp is in the past. */
  skewSeconds?: number;
  withinTolerance?: boolean;
  match?: SignatureMatchFound;
  bodyBytes: number;
  /** How many changed forms of the body were tried besides the body itself. */
  variantsTried: number;
}

/**
 * Says why `header` does or does not verify `rawBody` under the given settings. Pure: no clock, no I/O.
 * Throws a RangeError when `secrets` is empty, since there is nothing to diagnose against.
 */
export function diagnoseSignature(input: DiagnoseSignatureInput): SignatureDiagnosis {
  const { verdict, valid, title, explanation, fix, ...details } = diagnose(input);
  // The verdict first, so the JSON (`okepay doctor --json`, the local list of 401s) reads top down.
  return { verdict, valid, title, explanation, fix, ...details };
}

function diagnose(input: DiagnoseSignatureInput): SignatureDiagnosis {
  if (input.secrets.length === 0) throw new RangeError('diagnoseSignature needs at least one secret');
  const base = {
    settings: {
      scheme: input.scheme,
      toleranceSeconds: input.toleranceSeconds,
      secretsTried: input.secrets.length,
    },
    bodyBytes: input.rawBody.length,
    variantsTried: 0,
  };

  const headerProblem = checkHeader(input.header);
  if (headerProblem) return { ...base, ...headerProblem, valid: false };

  // checkHeader has accepted the header, so it parses.
  const parsed = parseSignatureHeader(input.header);
  const skewSeconds = Math.floor(input.nowMs / 1000) - parsed.timestamp;
  const withinTolerance = Math.abs(skewSeconds) <= input.toleranceSeconds;
  const timing = {
    header: { timestamp: parsed.timestamp, signatures: parsed.signatures.length },
    skewSeconds,
    withinTolerance,
  };
  const found = { ...base, ...timing };
  const otherScheme = SIGNATURE_SCHEMES.find((scheme) => scheme !== input.scheme) ?? input.scheme;
  const tryBody = (rawBody: Buffer, scheme: SignatureScheme, secrets = input.secrets) =>
    matchingSecret({ ...input, rawBody, scheme, secrets });

  const direct = tryBody(input.rawBody, input.scheme);
  if (direct !== undefined) {
    const match = { secretPosition: direct + 1, scheme: input.scheme };
    return withinTolerance
      ? { ...found, ...validVerdict(input, match, skewSeconds), valid: true, match }
      : { ...found, ...clockSkewVerdict(input, match, skewSeconds), valid: false, match };
  }

  const underOther = tryBody(input.rawBody, otherScheme);
  if (underOther !== undefined) {
    const match = { secretPosition: underOther + 1, scheme: otherScheme };
    return { ...found, ...wrongSchemeVerdict(input, match, timing), valid: false, match };
  }

  const variants = bodyVariants(input.rawBody);
  for (const scheme of [input.scheme, otherScheme]) {
    for (const variant of variants) {
      const index = tryBody(variant.bytes, scheme);
      if (index === undefined) continue;
      const match = {
        secretPosition: index + 1,
        scheme,
        bodyVariant: { id: variant.id, description: variant.description },
      };
      return {
        ...found,
        ...reserialisedVerdict(input, match, variant, timing),
        valid: false,
        match,
        variantsTried: variants.length,
      };
    }
  }

  if (input.rawBody.length === 0) return { ...found, ...emptyBodyVerdict(input), valid: false };

  // A secret pasted with a newline, a space or the quotes of an env file.
  const cleaned = input.secrets.map(cleanSecret);
  if (cleaned.some((secret, index) => secret !== input.secrets[index] && secret !== '')) {
    for (const scheme of [input.scheme, otherScheme]) {
      const index = tryBody(input.rawBody, scheme, cleaned);
      if (index !== undefined) {
        const match = { secretPosition: index + 1, scheme, secretNeeds: 'trimming' as const };
        return {
          ...found,
          ...untrimmedSecretVerdict(input, match),
          valid: false,
          match,
          variantsTried: variants.length,
        };
      }
    }
  }

  return {
    ...found,
    ...wrongSecretVerdict(input, parsed.signatures.length, variants.length),
    valid: false,
    variantsTried: variants.length,
  };
}

/** The index of the first secret that verifies, whatever the timestamp; undefined when none does. */
function matchingSecret(input: DiagnoseSignatureInput): number | undefined {
  try {
    return verifySignatureMatch({ ...input, toleranceSeconds: Number.POSITIVE_INFINITY }).secretIndex;
  } catch (error) {
    if (error instanceof SignatureVerificationError && error.reason === 'no_matching_signature') {
      return undefined;
    }
    throw error;
  }
}

const cleanSecret = (secret: string) =>
  secret
    .trim()
    .replace(/^(["'])(.*)\1$/s, '$2')
    .trim();

// ---------------------------------------------------------------------------------------------------
// The header

const HEADER_SHAPE =
  'It must look like `t=1715342812,v1=<64 hex digits>`: t is the signing time in unix seconds, v1 the ' +
  'hex HMAC-SHA256 (several v1 pairs are allowed, during a secret rotation).';
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

type Verdict = Pick<SignatureDiagnosis, 'verdict' | 'title' | 'explanation' | 'fix'>;

function checkHeader(header: string | undefined): Verdict | undefined {
  if (header === undefined || header.trim() === '') {
    return {
      verdict: 'missing_header',
      title: 'The request has no X-Okepay-Signature header',
      explanation:
        'There is no X-Okepay-Signature header (or it is empty), so there is nothing to verify. okePay ' +
        `signs every IPN with this header. ${HEADER_SHAPE}`,
      fix:
        'If the request came from okePay, something on the way dropped or renamed the header (a proxy, a ' +
        'load balancer, a framework that keeps only known headers): pass it through unchanged. If you ' +
        'are sending test requests by hand, sign them: `npx okepay send FILE`, or add the header printed ' +
        'by `npx okepay sign FILE`.',
    };
  }
  const problem = headerShapeProblem(header);
  if (problem === undefined) return undefined;
  return {
    verdict: 'malformed_header',
    title: 'The X-Okepay-Signature header is malformed',
    explanation: `${problem} ${HEADER_SHAPE}`,
    fix:
      'Pass the header value exactly as okePay sent it, without the header name, quotes or line breaks. ' +
      'If your own code builds it (a test, a forwarding proxy), build it with `npx okepay sign FILE` or ' +
      'signatureHeader() in functions/shared/ipn/signature.ts.',
  };
}

/**
 * What is wrong with the header's shape, or undefined when the verifier can read it and it holds at
 * least one v1 that could be an HMAC-SHA256. Never quotes the v1 values.
 */
function headerShapeProblem(header: string): string | undefined {
  if (/^\s*x-okepay-signature\s*:/i.test(header)) {
    return 'The value starts with the header name ("X-Okepay-Signature:"): give only what follows the colon.';
  }
  let parsed: ReturnType<typeof parseSignatureHeader>;
  try {
    parsed = parseSignatureHeader(header);
  } catch (error) {
    if (!(error instanceof SignatureVerificationError)) throw error;
    const pairs = header.split(',').map((part) => {
      const separator = part.indexOf('=');
      return separator === -1
        ? { key: part.trim(), value: '' }
        : { key: part.slice(0, separator).trim(), value: part.slice(separator + 1).trim() };
    });
    const t = pairs.find((pair) => pair.key === 't')?.value;
    if (t !== undefined && /^\d{13,}$/.test(t)) {
      return `t has ${t.length} digits: it looks like milliseconds, and must be unix seconds (10 digits today).`;
    }
    const keys = [...new Set(pairs.map((pair) => pair.key).filter((key) => /^[\w.-]{1,20}$/.test(key)))];
    const seen = keys.length > 0 ? ` The keys found are: ${keys.join(', ')}.` : '';
    return `${error.message}${seen}`;
  }
  if (parsed.signatures.some((signature) => HEX_SHA256.test(signature))) return undefined;
  const first = parsed.signatures[0] ?? '';
  const looksBase64 = /^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(first) && !HEX_SHA256.test(first);
  const prefixed = /^(sha-?256|hmac|v\d)[:=]/i.test(first);
  return (
    `No v1 value is 64 hex digits (an HMAC-SHA256 in hex): the first has ${first.length} characters` +
    (prefixed
      ? ' and a prefix such as "sha256=" that okePay does not use.'
      : looksBase64
        ? ' and looks base64-encoded; okePay writes it in hex.'
        : '.')
  );
}

// ---------------------------------------------------------------------------------------------------
// The verdicts once the header reads

const SCHEME_MEANING: Record<SignatureScheme, string> = {
  body: 'HMAC of the body alone',
  'timestamp.body': 'HMAC of `<t>.<body>`',
};

const secretName = (position: number, count: number) => `secret #${position} of ${count}`;

function positionsTried(count: number): string {
  if (count === 1) return '1 secret (#1)';
  if (count === 2) return '2 secrets (#1 and #2)';
  return `${count} secrets (#1 to #${count})`;
}

/** 452 → "7 min 32 s". */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.abs(Math.round(totalSeconds));
  if (seconds < 60) return `${seconds} s`;
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [size, name] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)} ${name}`);
      rest %= size;
    } else if (parts.length > 0) {
      break;
    }
  }
  return parts.join(' ');
}

/** "3 s in the past" / "2 min in the future". */
function skewText(skewSeconds: number): string {
  if (skewSeconds === 0) return 'exactly now';
  return `${formatDuration(skewSeconds)} ${skewSeconds > 0 ? 'in the past' : 'in the future'}`;
}

const toleranceText = (toleranceSeconds: number) =>
  `${formatDuration(toleranceSeconds)} (${toleranceSeconds} s) either way`;

const SCHEME_SETTING = (scheme: SignatureScheme) =>
  `OKEPAY_SIGNATURE_SCHEME=${scheme} (the ingest function, and \`npm start\`), or "signatureScheme": ` +
  `"${scheme}" in the okepay context of cdk.json for the stack, then deploy`;

function validVerdict(
  input: DiagnoseSignatureInput,
  match: SignatureMatchFound,
  skewSeconds: number,
): Verdict {
  return {
    verdict: 'valid',
    title: 'The signature is valid',
    explanation:
      `The signature verifies with ${secretName(match.secretPosition, input.secrets.length)} under the ` +
      `"${match.scheme}" scheme, over the body exactly as given. Its timestamp is ${skewText(skewSeconds)}, ` +
      `within the tolerance of ${toleranceText(input.toleranceSeconds)}.`,
    fix:
      'Nothing to fix in the signature. If your endpoint still refuses this request, it is not verifying ' +
      'these exact bytes with these settings: make it verify the raw request body (before any JSON ' +
      'parsing), with the same secrets and scheme.',
  };
}

function clockSkewVerdict(
  input: DiagnoseSignatureInput,
  match: SignatureMatchFound,
  skewSeconds: number,
): Verdict {
  const by = formatDuration(skewSeconds);
  const past = skewSeconds > 0;
  return {
    verdict: 'clock_skew',
    title: `The signature is valid but its timestamp is ${skewText(skewSeconds)}`,
    explanation:
      `The signature verifies with ${secretName(match.secretPosition, input.secrets.length)} under the ` +
      `"${match.scheme}" scheme, but its timestamp t=${Math.floor(input.nowMs / 1000) - skewSeconds} was ` +
      `${skewText(skewSeconds)} when the request was received, ` +
      `beyond the tolerance of ${toleranceText(input.toleranceSeconds)}.`,
    fix: past
      ? 'If this is a request captured earlier and sent again, it is refused as it should be: send a ' +
        "freshly signed one (`npx okepay send FILE`). If okePay sent it just now, the receiving machine's " +
        `clock is about ${by} ahead of okePay's: synchronise it (NTP: chrony, systemd-timesyncd). Raising ` +
        'OKEPAY_SIGNATURE_TOLERANCE_SECONDS (stack setting signatureToleranceSeconds) only hides the drift.'
      : `The receiving machine's clock is about ${by} behind the sender's (or the sender's is ahead): ` +
        'synchronise it (NTP: chrony, systemd-timesyncd). Raising OKEPAY_SIGNATURE_TOLERANCE_SECONDS ' +
        '(stack setting signatureToleranceSeconds) only hides the drift.',
  };
}

/** A sentence to append when the timestamp would also be refused once the first problem is fixed. */
function alsoStale(input: DiagnoseSignatureInput, timing: { skewSeconds: number; withinTolerance: boolean }) {
  return timing.withinTolerance
    ? ''
    : ` Once that is fixed, the timestamp will be refused too: it is ${skewText(timing.skewSeconds)}, ` +
        `beyond the tolerance of ${toleranceText(input.toleranceSeconds)}.`;
}

function wrongSchemeVerdict(
  input: DiagnoseSignatureInput,
  match: SignatureMatchFound,
  timing: { skewSeconds: number; withinTolerance: boolean },
): Verdict {
  return {
    verdict: 'wrong_scheme',
    title: `The signature uses the "${match.scheme}" scheme, the endpoint expects "${input.scheme}"`,
    explanation:
      `The signature verifies with ${secretName(match.secretPosition, input.secrets.length)} under the ` +
      `"${match.scheme}" scheme (${SCHEME_MEANING[match.scheme]}), but the endpoint is set to "${input.scheme}" ` +
      `(${SCHEME_MEANING[input.scheme]}).${alsoStale(input, timing)}`,
    fix: `Set the scheme to ${match.scheme}: ${SCHEME_SETTING(match.scheme)}.`,
  };
}

function reserialisedVerdict(
  input: DiagnoseSignatureInput,
  match: SignatureMatchFound,
  variant: BodyVariant,
  timing: { skewSeconds: number; withinTolerance: boolean },
): Verdict {
  const otherScheme =
    match.scheme === input.scheme
      ? ''
      : ` It is also signed under the "${match.scheme}" scheme, not "${input.scheme}": set ${SCHEME_SETTING(match.scheme)}.`;
  return {
    verdict: 'body_reserialised',
    title: 'The body was changed after okePay signed it',
    explanation:
      `The signature does not verify over the body as given, but it does (with ` +
      `${secretName(match.secretPosition, input.secrets.length)}, "${match.scheme}" scheme) over ` +
      `${variant.description}. The bytes you verify are not the bytes okePay signed.` +
      alsoStale(input, timing),
    fix: `${variant.fix}${otherScheme}`,
  };
}

function emptyBodyVerdict(input: DiagnoseSignatureInput): Verdict {
  return {
    verdict: 'empty_body',
    title: 'The body is empty',
    explanation:
      `The header reads, but the body is empty and the signature does not verify over it (tried ` +
      `${positionsTried(input.secrets.length)}, both schemes). okePay never sends an empty IPN: the body ` +
      'was lost before verification, usually because a body parser had already read the request stream.',
    fix:
      'Read the raw request body before any body parser does, and verify those bytes (in Express: ' +
      "express.raw({ type: 'application/json' }) on the IPN route; in Lambda: event.body, base64-decoded " +
      'when isBase64Encoded is true). If you captured this request, check that the capture kept the body.',
  };
}

function untrimmedSecretVerdict(input: DiagnoseSignatureInput, match: SignatureMatchFound): Verdict {
  return {
    verdict: 'wrong_secret',
    title: `Configured secret #${match.secretPosition} has extra characters around it`,
    explanation:
      `No configured secret verifies as it is, but ${secretName(match.secretPosition, input.secrets.length)} ` +
      `does once surrounding spaces, line breaks or quotes are removed ("${match.scheme}" scheme).`,
    fix:
      `Set secret #${match.secretPosition} again without the surrounding whitespace or quotes (a pasted ` +
      'newline, or quotes kept by an env file or a shell), in OKEPAY_WEBHOOK_SECRETS or the Secrets ' +
      'Manager secret.',
  };
}

function wrongSecretVerdict(
  input: DiagnoseSignatureInput,
  signatureCount: number,
  variantCount: number,
): Verdict {
  return {
    verdict: 'wrong_secret',
    title: 'No configured secret verifies this signature',
    explanation:
      `Tried ${positionsTried(input.secrets.length)} against ${signatureCount} v1 signature` +
      `${signatureCount === 1 ? '' : 's'}, under both schemes (body and timestamp.body), over the body as ` +
      `given and ${variantCount} re-serialised or re-encoded forms of it: none verifies. The request was ` +
      'signed with a secret that is not configured here, or its body was changed in a way not tried ' +
      '(a field added or removed on the way).',
    fix:
      "Copy the webhook secret again from okePay's dashboard, whole, and configure it: in AWS the Secrets " +
      'Manager secret (one value, or a JSON array such as ["whsec_new","whsec_old"] during a rotation), ' +
      'locally OKEPAY_WEBHOOK_SECRETS. While okePay rotates, keep the old and the new secret both ' +
      'configured. If the request did not come from okePay, nothing is wrong: it is refused as it should be.',
  };
}

// ---------------------------------------------------------------------------------------------------
// Changed forms of a body

interface BodyVariant {
  id: string;
  /** What the signed bytes were, e.g. "the body as compact JSON (JSON.stringify of the parsed body)". */
  description: string;
  /** What to do when this form is the one that verifies. */
  fix: string;
  bytes: Buffer;
}

const RAW_BYTES_FIX =
  'Your framework parsed and re-serialised the body; verify over the raw bytes. Take the request body ' +
  "before any JSON parsing (Express: express.raw({ type: 'application/json' }) on the IPN route; Fastify: " +
  "a content-type parser with parseAs: 'buffer'; Lambda: event.body, base64-decoded when isBase64Encoded is true), and never verify " +
  'JSON.stringify(JSON.parse(body)) or a body re-encoded by a proxy.';

const BOM = '\uFEFF';

interface JsonStyle {
  id: string;
  description: string;
  indent: string;
  keySeparator: string;
  itemSeparator: string;
}

const JSON_STYLES: JsonStyle[] = [
  {
    id: 'json-compact',
    description: 'compact JSON (JSON.stringify of the parsed body)',
    indent: '',
    keySeparator: ':',
    itemSeparator: ',',
  },
  {
    id: 'json-indent-2',
    description: 'JSON pretty-printed with 2 spaces',
    indent: '  ',
    keySeparator: ': ',
    itemSeparator: ',',
  },
  {
    id: 'json-indent-4',
    description: 'JSON pretty-printed with 4 spaces',
    indent: '    ',
    keySeparator: ': ',
    itemSeparator: ',',
  },
  {
    id: 'json-indent-tab',
    description: 'JSON pretty-printed with tabs',
    indent: '\t',
    keySeparator: ': ',
    itemSeparator: ',',
  },
  {
    id: 'json-spaced',
    description: 'JSON with ", " and ": " separators (Python json.dumps)',
    indent: '',
    keySeparator: ': ',
    itemSeparator: ', ',
  },
];

/** Bodies larger than this get no variants: the endpoint refuses them anyway (413), and it bounds the work. */
const MAX_VARIANT_SOURCE_BYTES = 256 * 1024;

/**
 * Forms of `raw` that a framework, a proxy or a copy-paste may have turned the signed bytes into, or
 * back: line endings, BOM, trailing newline, base64, URL encoding, JSON encoded twice, and the parsed
 * JSON re-serialised in the usual styles (indentation, separators, sorted keys, escaped characters, an
 * amount that lost its second decimal). Distinct, and each different from `raw`.
 */
export function bodyVariants(raw: Buffer): BodyVariant[] {
  if (raw.length > MAX_VARIANT_SOURCE_BYTES) return [];
  const variants: BodyVariant[] = [];
  const seen = new Set<string>([raw.toString('latin1')]);
  const add = (id: string, description: string, bytes: Buffer | string, fix = RAW_BYTES_FIX) => {
    const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const key = buffer.toString('latin1');
    if (seen.has(key)) return;
    seen.add(key);
    variants.push({ id, description, fix, bytes: buffer });
  };
  const text = raw.toString('utf8');

  // Text-level changes, both ways: the signed copy may have had what the given copy lacks.
  if (text.startsWith(BOM)) add('bom-stripped', 'the body without its byte-order mark (BOM)', text.slice(1));
  else add('bom-added', 'the body with a byte-order mark (BOM) at the start', BOM + text);
  add('trailing-newline-removed', 'the body without its trailing line break', text.replace(/\r?\n+$/, ''));
  add('trailing-newline-added', 'the body with a trailing line break', `${text}\n`);
  if (text.includes('\r\n'))
    add('crlf-to-lf', 'the body with LF line endings (yours has CRLF)', text.replace(/\r\n/g, '\n'));
  else if (text.includes('\n'))
    add('lf-to-crlf', 'the body with CRLF line endings (yours has LF)', text.replace(/\n/g, '\r\n'));

  // Decodings: the given copy is still encoded.
  const sources: { prefix: string; id: string; text: string; fix: string }[] = [
    { prefix: '', id: '', text: text.startsWith(BOM) ? text.slice(1) : text, fix: RAW_BYTES_FIX },
  ];
  const trimmed = text.trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) && trimmed.length % 4 === 0 && trimmed.length >= 8) {
    const decoded = Buffer.from(trimmed, 'base64');
    const fix =
      'The body is still base64-encoded: decode it first. API Gateway sends the body base64-encoded when ' +
      'isBase64Encoded is true; verify the decoded bytes.';
    add('base64-decoded', 'the base64-decoded body', decoded, fix);
    sources.push({
      prefix: 'the base64-decoded body, as ',
      id: 'base64-decoded+',
      text: decoded.toString('utf8'),
      fix,
    });
  }
  if (/%[0-9A-Fa-f]{2}/.test(trimmed) || /^[\w.-]+=/.test(trimmed)) {
    const fix =
      'The body was URL-encoded (a form post, or a tool that encoded it) after okePay signed it: verify the ' +
      'raw bytes okePay sent, before any form or URL decoding. ' +
      RAW_BYTES_FIX;
    const decoded = urlDecode(trimmed);
    if (decoded !== undefined) {
      add('url-decoded', 'the URL-decoded body', decoded, fix);
      sources.push({ prefix: 'the URL-decoded body, as ', id: 'url-decoded+', text: decoded, fix });
    }
    const field = /^([\w.-]+)=([^&]*)$/.exec(trimmed);
    const value = field?.[2] === undefined ? undefined : urlDecode(field[2]);
    if (field && value !== undefined) {
      add('form-field', `the value of the form field "${field[1]}"`, value, fix);
      sources.push({ prefix: `the form field "${field[1]}", as `, id: 'form-field+', text: value, fix });
    }
  }
  if (trimmed.startsWith('"')) {
    try {
      const inner: unknown = JSON.parse(trimmed);
      if (typeof inner === 'string') {
        const fix =
          'The body was JSON-encoded twice (a JSON string holding the JSON): it was serialised again after ' +
          'it was received. Verify the raw bytes okePay sent.';
        add('json-unwrapped', 'the JSON inside the body (it is a JSON string)', inner, fix);
        sources.push({ prefix: 'the JSON inside the string, as ', id: 'json-unwrapped+', text: inner, fix });
      }
    } catch {
      // Not a JSON string after all: no variant from it.
    }
  }

  for (const source of sources) {
    const parsed = parseJson(source.text);
    if (parsed === undefined) continue;
    for (const variant of reserialisations(parsed.value, source.text)) {
      add(`${source.id}${variant.id}`, `${source.prefix}${variant.description}`, variant.text, source.fix);
    }
  }
  return variants;
}

function urlDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function parseJson(text: string): { value: unknown } | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return { value: parseLosslessJson(trimmed) };
  } catch {
    return undefined;
  }
}

/** Every combination of style, key order, amount spelling, escaping and line endings that applies. */
function* reserialisations(
  value: unknown,
  original: string,
): Generator<{ id: string; description: string; text: string }> {
  const amountFixed = withTwoDecimalAmount(value);
  const amounts =
    amountFixed === undefined
      ? [{ id: '', description: '', value }]
      : [
          { id: '', description: '', value },
          { id: '+amount-2dp', description: ', the amount written with two decimals', value: amountFixed },
        ];
  const escapes = [{ id: '', description: '', apply: (text: string) => text }];
  // Non-ASCII only ever occurs inside JSON strings, so escaping it over the whole text is safe; the
  // same holds for "/". Python's json.dumps and PHP's json_encode escape these by default.
  if (/[\u0080-\uffff]/.test(original)) {
    escapes.push({
      id: '+ascii',
      description: ', non-ASCII characters escaped as \\uXXXX',
      apply: (text) =>
        text.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`),
    });
  }
  if (original.includes('/')) {
    escapes.push({
      id: '+slashes',
      description: ', "/" escaped as "\\/"',
      apply: (text) => text.replace(/\//g, '\\/'),
    });
  }
  for (const style of JSON_STYLES) {
    for (const sortKeys of [false, true]) {
      for (const amount of amounts) {
        for (const escaping of escapes) {
          const base = escaping.apply(serialise(amount.value, style, sortKeys, ''));
          const endings =
            style.indent === ''
              ? [{ id: '', description: '', text: base }]
              : [
                  { id: '', description: '', text: base },
                  { id: '+crlf', description: ', with CRLF line endings', text: base.replace(/\n/g, '\r\n') },
                ];
          for (const ending of endings) {
            const crlf = ending.id !== '';
            for (const newline of ['', crlf ? '\r\n' : '\n']) {
              yield {
                id: `${style.id}${sortKeys ? '+sorted' : ''}${amount.id}${escaping.id}${ending.id}${newline ? '+newline' : ''}`,
                description:
                  `the body as ${style.description}${sortKeys ? ', keys sorted' : ''}${amount.description}` +
                  `${escaping.description}${ending.description}${newline ? ', with a trailing line break' : ''}`,
                text: ending.text + newline,
              };
            }
          }
        }
      }
    }
  }
}

/**
 * The parsed body with its top-level `amount` written with two decimals (129.9 → 129.90), when it has
 * fewer: okePay writes every amount so, and JSON.parse + JSON.stringify drops the trailing zero.
 */
function withTwoDecimalAmount(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const amount = (value as Record<string, unknown>).amount;
  if (!isLosslessNumber(amount)) return undefined;
  const text = amount.toString();
  const match = /^(-?\d+)(?:\.(\d{0,1}))?$/.exec(text);
  if (!match) return undefined;
  const fixed = `${match[1]}.${(match[2] ?? '').padEnd(2, '0')}`;
  return { ...(value as Record<string, unknown>), amount: new LosslessNumber(fixed) };
}

function serialise(value: unknown, style: JsonStyle, sortKeys: boolean, depth: string): string {
  if (isLosslessNumber(value)) return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = depth + style.indent;
  const wrap = (open: string, items: string[], close: string) => {
    if (items.length === 0) return open + close;
    if (style.indent === '') return open + items.join(style.itemSeparator) + close;
    return `${open}\n${inner}${items.join(`${style.itemSeparator}\n${inner}`)}\n${depth}${close}`;
  };
  if (Array.isArray(value))
    return wrap(
      '[',
      value.map((item) => serialise(item, style, sortKeys, inner)),
      ']',
    );
  const entries = Object.entries(value as Record<string, unknown>);
  if (sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return wrap(
    '{',
    entries.map(
      ([key, item]) =>
        `${JSON.stringify(key)}${style.keySeparator}${serialise(item, style, sortKeys, inner)}`,
    ),
    '}',
  );
}
