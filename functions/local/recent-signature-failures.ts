/**
 * The local pipeline's memory of its latest 401s, each with the doctor's diagnosis, so a developer
 * whose first IPN is refused sees why without capturing anything. In memory and bounded: a ring of
 * the last `capacity` failures, bodies cut at `maxBodyBytes`. Never holds a secret: the signature
 * header is kept (it is not one), the diagnosis names secrets by position only, and credential
 * headers are redacted.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { integer, oneOf } from '../shared/config.ts';
import { SIGNATURE_SCHEMES, type SignatureScheme } from '../shared/ipn/signature.ts';
import { diagnoseSignature, type SignatureDiagnosis } from '../shared/ipn/signature-doctor.ts';

export interface SignatureFailure {
  /** 1, 2, 3... in arrival order: a page streaming them can tell which it already has. */
  id: number;
  /** ISO 8601 UTC. */
  receivedAt: string;
  method: string;
  path: string;
  /** Header names in lower case. The signature header is kept; credential headers are redacted. */
  headers: Record<string, string>;
  /** The body as received, cut at the cap: UTF-8 text, or base64 when it is not valid UTF-8. */
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  /** The size of the whole body, before any cut. */
  bodyBytes: number;
  bodyTruncated: boolean;
  /** What the endpoint answered. */
  response: { status: number; reason?: string };
  /** Computed over the whole body with the pipeline's own secrets, scheme and tolerance. */
  diagnosis: SignatureDiagnosis;
}

export type SignatureFailureListener = (failure: SignatureFailure) => void;

export const DEFAULT_FAILURE_CAPACITY = 50;
export const DEFAULT_FAILURE_BODY_BYTES = 64 * 1024;

/** A bounded list of the latest signature failures, newest first, with a hook for live viewers. */
export class RecentSignatureFailures {
  private readonly failures: SignatureFailure[] = [];
  private readonly listeners = new Set<SignatureFailureListener>();
  private nextId = 1;
  readonly capacity: number;
  readonly onError: (error: unknown) => void;

  constructor(
    options: {
      capacity?: number;
      /**
       * Called when a listener throws or a request cannot be recorded: a viewer's bug must not fail
       * the request being answered.
       */
      onError?: (error: unknown) => void;
    } = {},
  ) {
    this.capacity = Math.max(1, options.capacity ?? DEFAULT_FAILURE_CAPACITY);
    this.onError = options.onError ?? (() => undefined);
  }

  add(failure: Omit<SignatureFailure, 'id'>): SignatureFailure {
    const recorded = { ...failure, id: this.nextId++ };
    this.failures.unshift(recorded);
    if (this.failures.length > this.capacity) this.failures.length = this.capacity;
    for (const listener of this.listeners) {
      try {
        listener(recorded);
      } catch (error) {
        this.onError(error);
      }
    }
    return recorded;
  }

  /** Newest first. */
  list(): SignatureFailure[] {
    return [...this.failures];
  }

  /** Calls `listener` with every failure added from now on; returns the function that stops it. */
  onAdd(listener: SignatureFailureListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

/** What the local endpoint verifies with. */
export interface SignatureSettings {
  secrets: readonly string[];
  scheme: SignatureScheme;
  toleranceSeconds: number;
}

/** The scheme and tolerance the ingest handler reads from the same environment (ingest/config.ts). */
export function signatureSettingsFromEnv(
  secrets: readonly string[],
  env: Record<string, string | undefined>,
): SignatureSettings {
  return {
    secrets,
    scheme: oneOf(env, 'OKEPAY_SIGNATURE_SCHEME', SIGNATURE_SCHEMES, 'body'),
    toleranceSeconds: integer(env, 'OKEPAY_SIGNATURE_TOLERANCE_SECONDS', 300, 1, 86_400),
  };
}

export interface RefusedRequest {
  receivedAtMs: number;
  method: string;
  path: string;
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
  status: number;
  /** The endpoint's JSON answer, for its `reason`. */
  responseBody?: string;
}

/** Headers that carry credentials of their own; an IPN has no use for them, and they are not kept. */
/**
 * Keeps the request when the ingest handler refused its signature (401); does nothing otherwise. Never
 * throws: a failure to record is reported to `failures.onError`, and the request is answered as usual.
 */
export function recordIfSignatureRefused(
  failures: RecentSignatureFailures,
  settings: SignatureSettings,
  exchange: { event: APIGatewayProxyEventV2; rawBody: Buffer; result: APIGatewayProxyStructuredResultV2 },
): void {
  const { event, rawBody, result } = exchange;
  if (result.statusCode !== 401) return;
  try {
    failures.add(
      signatureFailureOf(
        {
          receivedAtMs: event.requestContext.timeEpoch,
          method: event.requestContext.http.method,
          path: event.rawPath,
          headers: event.headers,
          rawBody,
          status: result.statusCode,
          ...(result.body === undefined ? {} : { responseBody: result.body }),
        },
        settings,
      ),
    );
  } catch (error) {
    failures.onError(error);
  }
}

const REDACTED_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The record of a refused request: its diagnosis over the whole body, then the body cut to size. */
export function signatureFailureOf(
  request: RefusedRequest,
  settings: SignatureSettings,
  maxBodyBytes = DEFAULT_FAILURE_BODY_BYTES,
): Omit<SignatureFailure, 'id'> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = REDACTED_HEADERS.has(name.toLowerCase()) ? '(redacted)' : value;
  }
  const kept = request.rawBody.subarray(0, maxBodyBytes);
  let body: string;
  let bodyEncoding: SignatureFailure['bodyEncoding'] = 'utf8';
  try {
    body = utf8.decode(kept);
  } catch {
    // Not UTF-8 (or cut inside a character): kept exact, as base64.
    body = kept.toString('base64');
    bodyEncoding = 'base64';
  }
  const diagnosis = diagnoseSignature({
    header: request.headers['x-okepay-signature'],
    rawBody: request.rawBody,
    secrets: settings.secrets,
    scheme: settings.scheme,
    toleranceSeconds: settings.toleranceSeconds,
    nowMs: request.receivedAtMs,
  });
  const reason = reasonOf(request.responseBody);
  return {
    receivedAt: new Date(request.receivedAtMs).toISOString(),
    method: request.method,
    path: request.path,
    headers,
    body,
    bodyEncoding,
    bodyBytes: request.rawBody.length,
    bodyTruncated: kept.length < request.rawBody.length,
    response: { status: request.status, ...(reason ? { reason } : {}) },
    diagnosis,
  };
}

function reasonOf(responseBody: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(responseBody ?? '') as { reason?: unknown };
    return typeof parsed.reason === 'string' ? parsed.reason : undefined;
  } catch {
    return undefined;
  }
}

/** One terminal line for a failure: what is wrong and the first step of the fix. */
export function signatureFailureLine(failure: SignatureFailure): string {
  const { diagnosis } = failure;
  return `IPN refused (401, ${diagnosis.verdict}): ${diagnosis.title}. ${firstSentence(diagnosis.fix)}`;
}

const firstSentence = (text: string) => /^.*?[.!?](?=\s|$)/.exec(text)?.[0] ?? text;
