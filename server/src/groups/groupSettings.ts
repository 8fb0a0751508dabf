import type {ConsumerGroupSettings} from '../engine/consumerGroupLedger.js';

/** The settings a group gets for what its creator leaves unset. */
export const DEFAULT_GROUP_SETTINGS: ConsumerGroupSettings = {
  maxInFlightPerConsumer: 64,
  ackTimeoutMs: 30_000,
  maxAttempts: 5,
  retryBackoffMs: 1000,
  maxRetryBackoffMs: 60_000,
};

/** The range each setting must lie in (inclusive). */
export const GROUP_SETTING_RANGES: Record<keyof ConsumerGroupSettings, {min: number; max: number}> = {
  maxInFlightPerConsumer: {min: 1, max: 10_000},
  ackTimeoutMs: {min: 100, max: 3_600_000},
  maxAttempts: {min: 1, max: 1000},
  retryBackoffMs: {min: 0, max: 3_600_000},
  maxRetryBackoffMs: {min: 0, max: 3_600_000},
};

/** Most parts a group may be split into. */
export const MAX_GROUP_PARTITIONS = 64;
