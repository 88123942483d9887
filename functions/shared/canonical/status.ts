/** OKPAY transaction status of each okePay event type (okpay-api-data-structures: TxnStatuses). */
import type { PaymentEventDetail } from './payment-event.ts';

export type StatusMapping = Pick<PaymentEventDetail, 'status' | 'statusReason'>;

const STATUS_BY_EVENT: Record<string, StatusMapping> = {
  'payment.pending': { status: 'Pending' },
  'payment.succeeded': { status: 'Completed' },
  'payment.failed': { status: 'Error' },
  'payment.refunded': { status: 'Reversed', statusReason: 'refund' },
  'payment.chargeback': { status: 'Reversed', statusReason: 'chargeback' },
};

/** OKPAY transaction status of an okePay event; unknown types are `None` ("status is not set yet"). */
export function statusFor(event: string): StatusMapping {
  return STATUS_BY_EVENT[event] ?? { status: 'None' };
}
