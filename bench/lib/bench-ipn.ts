/**
 * The IPN every benchmark sends: shaped like `events/ipn/payment-succeeded.json` (customer data and a
 * three-attempt cascade, about 480 bytes), with a unique payment id per event.
 */
import { signatureHeader } from '../../functions/shared/ipn/signature.ts';

export const BENCH_SECRET = 'whsec_bench_3c9f1a7e5d2b8046';
export const IPN_PATH = '/okepay/ipn';

export interface BenchIpnOptions {
  /**
   * `payment.pending` by default: no example rule in events/rules matches it, so the local pipeline
   * does not print each event through a `log` target while it is being measured.
   */
  event?: string;
  occurredAt?: string;
}

export function benchIpnBody(paymentId: string, options: BenchIpnOptions = {}): string {
  // Written by hand so the amount keeps its two decimals, as okePay sends it.
  return (
    `{"event":"${options.event ?? 'payment.pending'}","payment_id":"${paymentId}",` +
    `"order_ref":"BENCH-${paymentId}","amount":129.90,"currency":"EUR",` +
    `"occurred_at":"${options.occurredAt ?? '2026-05-10T12:46:52Z'}",` +
    '"customer":{"email":"buyer@example.com","country":"DE","ip":"203.0.113.42"},' +
    '"attempts":[{"n":1,"acquirer":"ACQ-EU-1","result":"soft_decline","code":"05"},' +
    '{"n":2,"acquirer":"ACQ-EU-2","result":"soft_decline","code":"do_not_honor"},' +
    '{"n":3,"acquirer":"ACQ-APM-DE","result":"approved"}]}'
  );
}

/** Headers of a signed request, timestamped now (the servers check a 300 s tolerance). */
export function signedHeaders(body: string, secret = BENCH_SECRET): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-okepay-signature': signatureHeader({
      rawBody: body,
      secret,
      scheme: 'body',
      timestamp: Math.floor(Date.now() / 1000),
    }),
  };
}
