/**
 * A consumer in another repository, written against the installed package only.
 * test/package/consumer-package.test.ts copies it into a new project where `okepay-events` is installed
 * from its packed tarball, type-checks it (the `@ts-expect-error` lines must stay errors) and runs it:
 * `node consumer.js <samples dir>` prints what it observed as one JSON line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isPaymentEvent,
  isPaymentRefunded,
  isPaymentSucceeded,
  isReplay,
  KNOWN_PAYMENT_EVENT_TYPES,
  type PaymentEvent,
  PaymentEventParseError,
  type PaymentRefundedEvent,
  type PaymentSucceededEvent,
  parsePaymentEvent,
  parsePaymentEvents,
  safeParsePaymentEvent,
} from 'okepay-events';
import schema from 'okepay-events/schema.json' with { type: 'json' };
import { eventIdFor, makePaymentEvent } from 'okepay-events/testing';

/** Compile-time checks only: the declarations carry the schema's types, not `any`. */
export function typeChecks(event: PaymentEvent, input: unknown): void {
  // @ts-expect-error the parser's result is typed (no amount.cents), not any
  void parsePaymentEvent(input).detail.amount.cents;
  // @ts-expect-error so are the batch parser's
  void parsePaymentEvents(input)[0]?.detail.amount.cents;
  const result = safeParsePaymentEvent(input);
  // @ts-expect-error data exists only on success
  void result.data;
  if (result.success) {
    const parsed: PaymentEvent = result.data;
    void parsed;
  } else {
    const paths: PropertyKey[][] = result.error.issues.map((issue) => issue.path);
    void paths;
  }
  const minorUnits: number = event.detail.amount.minorUnits;
  // @ts-expect-error minorUnits is a number
  const minorUnitsText: string = event.detail.amount.minorUnits;
  // @ts-expect-error the status is one of OKPAY's statuses
  const status: PaymentEvent['detail']['status'] = 'Refunded';
  // @ts-expect-error replay is absent on live events
  const replayId: string = event.detail.replay.replayId;
  // @ts-expect-error amounts are decimal text, never a float
  makePaymentEvent({ type: 'payment.succeeded', amount: 129.9 });
  if (isPaymentRefunded(event)) {
    const refunded: PaymentRefundedEvent = event;
    const detailType: 'payment.refunded' = event['detail-type'];
    // @ts-expect-error a refunded event is not a succeeded one
    const succeeded: PaymentSucceededEvent = event;
    void [refunded, detailType, succeeded];
  }
  if (isReplay(event)) {
    const replayedBy: string = event.detail.replay.replayId;
    void replayedBy;
  }
  const chargeback = makePaymentEvent({ type: 'payment.chargeback', amount: '5400', currency: 'JPY' });
  const chargebackType: 'payment.chargeback' = chargeback.detail.type;
  void [minorUnits, minorUnitsText, status, replayId, chargebackType];
}

function failureOf(run: () => unknown) {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof PaymentEventParseError)) throw error;
    return {
      message: error.message,
      messageId: error.messageId,
      paths: error.issues.map((i) => i.path.join('.')),
    };
  }
}

const sqsRecord = (messageId: string, body: string) => ({ messageId, body, eventSource: 'aws:sqs' });

const samplesDir = process.argv[2] ?? '';
const files = readdirSync(samplesDir)
  .filter((file) => file.endsWith('.json'))
  .sort();
const texts = files.map((file) => readFileSync(join(samplesDir, file), 'utf8'));
const samples = files.map((file, index) => {
  const text = texts[index] ?? '';
  const direct = parsePaymentEvent(JSON.parse(text)); // a Lambda target receives the object
  const fromText = parsePaymentEvent(text);
  const fromSqs = parsePaymentEvent(sqsRecord(`m-${file}`, text)); // an SQS target: the JSON body
  return {
    file,
    detailType: fromSqs['detail-type'],
    eventId: fromSqs.detail.eventId,
    sameEvent: JSON.stringify(direct) === JSON.stringify(fromText),
    succeeded: isPaymentSucceeded(fromSqs),
    ofItsType: isPaymentEvent(fromSqs['detail-type'])(fromSqs),
    replay: isReplay(fromSqs),
    factoryEventId: eventIdFor(fromSqs.detail.paymentId, fromSqs.detail.type),
  };
});
const batch = parsePaymentEvents({ Records: texts.map((text, index) => sqsRecord(`m${index}`, text)) });

const succeeded = JSON.parse(texts[files.indexOf('payment-succeeded.json')] ?? '{}');
const broken = structuredClone(succeeded);
broken.detail.amount.decimal = '129,90';
delete broken.detail.eventId;
const bigRawNumber = (texts[files.indexOf('payment-succeeded.json')] ?? '').replace(
  '"customer": {',
  '"acquirer_txn_id": 9994456683762355345868, "customer": {',
);

const live = makePaymentEvent({
  type: 'payment.refunded',
  amount: '12.345',
  currency: 'KWD',
  paymentId: 'pay_1',
});
const replayed = makePaymentEvent({
  type: 'payment.refunded',
  amount: '12.345',
  currency: 'KWD',
  paymentId: 'pay_1',
  replay: { replayId: 'rp-1', requestedAt: '2026-06-01T00:00:00.000Z' },
});
const secondRefund = makePaymentEvent({
  type: 'payment.refunded',
  amount: '1.000',
  currency: 'KWD',
  paymentId: 'pay_1',
  revision: 2,
});
const made = KNOWN_PAYMENT_EVENT_TYPES.map((type) => makePaymentEvent({ type }));

console.log(
  JSON.stringify({
    schemaTitle: schema.title,
    samples,
    batch: batch.map((event) => event['detail-type']),
    broken: failureOf(() => parsePaymentEvent(sqsRecord('broken-1', JSON.stringify(broken)))),
    notJson: failureOf(() => parsePaymentEvent(sqsRecord('not-json', '{"version":'))),
    brokenInBatch: failureOf(() =>
      parsePaymentEvents({
        Records: [sqsRecord('ok', texts[0] ?? ''), sqsRecord('bad', JSON.stringify(broken))],
      }),
    ),
    detailAlone: failureOf(() => parsePaymentEvent(succeeded.detail)),
    safeParse: [safeParsePaymentEvent(succeeded).success, safeParsePaymentEvent(broken).success],
    bigRawNumber: parsePaymentEvent(bigRawNumber).detail.raw?.acquirer_txn_id !== undefined,
    factory: {
      types: made.map((event) => [
        event['detail-type'],
        event.detail.status,
        isPaymentEvent(event.detail.type)(event),
      ]),
      roundTrip: made.every(
        (event) => parsePaymentEvent(JSON.stringify(event)).detail.eventId === event.detail.eventId,
      ),
      live: { eventId: live.detail.eventId, replay: isReplay(live), amount: live.detail.amount },
      replayed: { eventId: replayed.detail.eventId, replay: isReplay(replayed), id: replayed.id !== live.id },
      secondRefund: { eventId: secondRefund.detail.eventId, revision: secondRefund.detail.revision },
      invalid: failureOf(() => makePaymentEvent({ type: 'payment.succeeded', currency: 'eur' })),
    },
  }),
);
