import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { type BusEntry, type BusEntryResult, BusUnavailableError, type EventBus } from './event-bus.ts';

/** {@link EventBus} on an Amazon EventBridge bus (or the local endpoint, through the SDK's endpoint setting). */
export class EventBridgeEventBus implements EventBus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async putEvents(entries: readonly BusEntry[]): Promise<BusEntryResult[]> {
    let response: PutEventsCommandOutput;
    try {
      response = await this.client.send(
        new PutEventsCommand({
          Entries: entries.map((entry) => ({
            EventBusName: this.eventBusName,
            Source: entry.source,
            DetailType: entry.detailType,
            Detail: entry.detail,
            Time: entry.time,
          })),
        }),
      );
    } catch (error) {
      throw new BusUnavailableError({ cause: error });
    }
    return entries.map((_entry, index) => {
      const result = response.Entries?.[index];
      if (result?.EventId && !result.ErrorCode) return { ok: true, eventId: result.EventId };
      return {
        ok: false,
        errorCode: result?.ErrorCode ?? 'MissingResult',
        errorMessage: result?.ErrorMessage ?? 'PutEvents returned no result for this entry',
      };
    });
  }
}
