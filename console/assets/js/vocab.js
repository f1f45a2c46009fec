// The API's closed vocabularies (docs/vocabularies.md).

export const providers = ['messagemedia', 'signalwire', 'vonage'];
export const messageStatuses = ['unknown', 'queued', 'sent', 'delivered', 'read', 'undelivered', 'failed', 'expired', 'rejected'];
export const callStatuses = ['unknown', 'initiated', 'ringing', 'answered', 'completed', 'busy', 'no_answer', 'cancelled', 'rejected', 'failed'];
export const reasons = ['unknown_source', 'method_not_allowed', 'body_too_large', 'missing_signature', 'malformed',
  'unsupported_algorithm', 'unknown_key', 'bad_signature', 'payload_hash_mismatch', 'stale_timestamp', 'replayed'];

/** any prefixes a closed set with the "no filter" choice. */
export function any(values) {
  return [['', 'any'], ...values.map((v) => [v, v])];
}
