/** The queue's dead-letter queue, as the `dlq` commands see it. */

export interface DeadLetter {
  messageId: string;
  body: string;
  /** When it was first sent to the queue, ISO 8601. */
  sentAt?: string;
  /** The queue it died in (SQS sets `DeadLetterQueueSourceArn`). */
  sourceArn?: string;
}

export interface MoveTask {
  /** RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED. */
  status: string;
  moved: number;
  toMove?: number;
  failureReason?: string;
  startedAt?: string;
}

export interface DeadLetterQueue {
  /**
   * Reads up to `max` messages without deleting them; they are visible again when it returns.
   * SQS gives no guarantee to return every message of a large queue.
   */
  peek(max: number): Promise<DeadLetter[]>;
  /** Approximate count of messages waiting in the DLQ. */
  approximateCount(): Promise<number>;
  /** Starts moving every message back to the source queue (SQS StartMessageMoveTask). */
  startRedrive(): Promise<void>;
  /** The newest move task of this DLQ, if any. */
  latestRedrive(): Promise<MoveTask | undefined>;
  /** Deletes every message (SQS PurgeQueue: takes up to 60 s; once per 60 s). */
  purge(): Promise<void>;
}
