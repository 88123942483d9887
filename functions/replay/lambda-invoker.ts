import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { ContinuationInput, Invoker } from './continuation.ts';

/**
 * {@link Invoker} as an asynchronous invocation of a Lambda function (the replay function itself):
 * Lambda queues the event and answers 202 at once, so the calling run can end while the next starts.
 * An error (throttled, no permission) propagates; the caller reports it with the input to resume with.
 */
export class LambdaInvoker implements Invoker {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async invokeAsync(input: ContinuationInput): Promise<void> {
    const { StatusCode, FunctionError } = await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(input)),
      }),
    );
    if (StatusCode !== 202 || FunctionError) {
      throw new TypeError(
        `Invoke of ${this.functionName} answered ${StatusCode} ${FunctionError ?? ''}`.trim(),
      );
    }
  }
}
