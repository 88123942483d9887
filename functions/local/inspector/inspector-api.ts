/**
 * The inspector's reads and actions on the stored record: a payment's timeline, the stored lists, the
 * DLQ, "copy as curl", and the buttons. They run against the CLI's own view of the local pipeline
 * (`resolveTarget --local`, from endpoints.json), through the CLI's modules; inspector-server.ts loads
 * this file on the first request that needs it, so `okepay serve` starts without them.
 */
import { readLocalEndpoints, resolveTarget, type Target } from '../../../bin/commands/targets.ts';
import { LIST_STATES, type ListState, listEvents } from '../../operations/list-events.ts';
import { DynamoDbStoredEventQuery } from '../../replay/dynamodb-stored-event-query.ts';
import type { SignatureScheme } from '../../shared/ipn/signature.ts';
import { DynamoDbEventStore } from '../../shared/store/dynamodb-event-store.ts';
import type { EventEnvelope } from '../event-bus-put-events.ts';
import { ActionRefusedError } from './errors.ts';
import {
  ACTIONS,
  type ActionName,
  type ActionResult,
  deadLetterStatus,
  runAction,
} from './inspector-actions.ts';
import type { LiveRecord } from './live-record.ts';
import { curlCommand, paymentView } from './payment-view.ts';

export interface InspectorApiOptions {
  dataDir: string;
  secrets: readonly string[];
  signatureScheme: SignatureScheme;
  live: LiveRecord;
  /** The envelopes the local bus accepted in this run. */
  busEvents: readonly EventEnvelope[];
}

export interface InspectorApi {
  /** Answers a GET under /api/ that reads the stored record; undefined when the path is not one. */
  get(path: string, params: URLSearchParams): Promise<unknown | undefined>;
  /** Runs a button's action; throws ActionRefusedError for an unknown one or bad input. */
  act(name: string, input: unknown): Promise<ActionResult>;
  close(): Promise<void>;
}

export function createInspectorApi(options: InspectorApiOptions): InspectorApi {
  let target: Promise<Target> | undefined;
  /** Made on first use: the pipeline writes endpoints.json once every server is up. */
  const localTarget = (): Promise<Target> => {
    if (!target) {
      const resolving = resolveTarget(
        { local: true, 'data-dir': options.dataDir },
        process.env,
        process.cwd(),
      );
      // The caller gets the failure; it is not kept, so the next request tries again.
      resolving.catch(() => {
        if (target === resolving) target = undefined;
      });
      target = resolving;
    }
    return target;
  };

  /** "Copy as curl": of a live IPN (`ipn=ID`) or of a stored event (`paymentId`, `event`, `revision`). */
  const curlFor = async (params: URLSearchParams): Promise<string> => {
    const { ipnUrl } = readLocalEndpoints({ 'data-dir': options.dataDir }, process.env, process.cwd());
    let rawBody: Buffer | undefined;
    const ipnId = params.get('ipn');
    if (ipnId !== null) {
      const exchange = options.live.exchange(Number(ipnId));
      if (exchange && !exchange.request.bodyTruncated) {
        rawBody = Buffer.from(
          exchange.request.body,
          exchange.request.bodyEncoding === 'base64' ? 'base64' : 'utf8',
        );
      }
    } else {
      const local = await localTarget();
      const record = await new DynamoDbEventStore(local.dynamoDb, local.tableName).paymentRecord(
        params.get('paymentId') ?? '',
      );
      rawBody = record.events.find(
        (event) => event.event === params.get('event') && String(event.revision) === params.get('revision'),
      )?.body;
    }
    if (rawBody === undefined || ipnUrl === undefined) {
      throw new ActionRefusedError('No such request or stored event', 404);
    }
    return curlCommand({
      ipnUrl,
      rawBody,
      secret: options.secrets[0] ?? '',
      scheme: options.signatureScheme,
      nowMs: Date.now(),
    });
  };

  return {
    async get(path, params) {
      const payment = /^\/api\/payments\/([^/]+)$/.exec(path);
      if (payment) {
        let paymentId: string;
        try {
          paymentId = decodeURIComponent(payment[1] ?? '');
        } catch (error) {
          throw new ActionRefusedError('The payment id is not a valid URL component', 400, { cause: error });
        }
        return paymentView(paymentId, {
          target: await localTarget(),
          dataDir: options.dataDir,
          live: options.live,
          busEvents: options.busEvents,
        });
      }
      if (path === '/api/events') {
        const state = params.get('state') ?? undefined;
        if (state !== undefined && !(LIST_STATES as readonly string[]).includes(state)) {
          throw new ActionRefusedError(`state must be one of ${LIST_STATES.join(', ')}`, 400);
        }
        const before = params.get('before') ?? undefined;
        const local = await localTarget();
        return listEvents(
          { ...(state ? { state: state as ListState } : {}), ...(before ? { before } : {}), limit: 100 },
          {
            query: new DynamoDbStoredEventQuery(local.dynamoDb, local.tableName),
            states: new DynamoDbEventStore(local.dynamoDb, local.tableName),
            now: Date.now,
          },
        );
      }
      if (path === '/api/dlq') return deadLetterStatus(await localTarget());
      if (path === '/api/curl') return { curl: await curlFor(params) };
      return undefined;
    },

    async act(name, input) {
      if (!(ACTIONS as readonly string[]).includes(name)) throw new ActionRefusedError('No such action', 404);
      return runAction(name as ActionName, input, {
        target: await localTarget(),
        dataDir: options.dataDir,
        secrets: options.secrets,
        env: process.env,
      });
    },

    async close() {
      if (target) (await target.catch(() => undefined))?.destroy();
    },
  };
}
