import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageSystemAttributeName,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * Reads a whole queue, ten messages at a time, each handed to `onMessage` and deleted, until a
 * receive finds none: how the local checks read what a run sent. `attributes`: SQS's system
 * attributes each message is read with (`SentTimestamp`, …).
 */
export async function drainQueue(
  sqs: SQSClient,
  queueUrl: string,
  onMessage: (message: Message) => void,
  attributes: MessageSystemAttributeName[] = [],
): Promise<void> {
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
        ...(attributes.length > 0 && { MessageSystemAttributeNames: attributes }),
      }),
    );
    if (Messages.length === 0) return;
    for (const message of Messages) onMessage(message);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
  }
}
