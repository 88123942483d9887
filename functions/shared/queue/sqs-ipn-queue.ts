import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { QueueUnavailableError } from './errors.ts';
import type { IpnQueue, QueuedIpn } from './ipn-queue.ts';

/** {@link IpnQueue} on an SQS standard queue. */
export class SqsIpnQueue implements IpnQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(message: QueuedIpn): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }),
      );
    } catch (error) {
      throw new QueueUnavailableError('SendMessage', { cause: error });
    }
  }
}
