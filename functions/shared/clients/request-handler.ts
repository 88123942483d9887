/**
 * Shared HTTP settings of the AWS SDK clients. The SDK's default waits forever for a response; a hung
 * call must instead fail and become a retry (ingest answers 5xx and okePay retries) well inside API
 * Gateway's 30 s integration limit.
 */
export const requestHandler = { connectionTimeout: 1_000, requestTimeout: 5_000 };
