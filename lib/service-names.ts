/**
 * Powertools service names. The handlers set the same ones (functions/ingest/handler.ts,
 * functions/consumer/handler.ts, functions/replay/handler.ts, functions/sweeper/handler.ts); their
 * metrics carry them as the `service` dimension, which the alarms and the dashboard select on.
 */
export const SERVICE_NAMES = {
  ingest: 'okepay-ingest',
  consumer: 'okepay-consumer',
  replay: 'okepay-replay',
  sweeper: 'okepay-sweeper',
} as const;
