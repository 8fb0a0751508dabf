import {expect, it} from 'vitest';
import {timeLeft} from '../../cli/progress.js';

it('estimates the time left from the average rate since the start', () => {
  // Half of a 30 s job done after 15 s: 15 s left, whatever the bursts were like.
  expect(timeLeft(15_000, 30_000, 15_000)).toBe('15s left');
  // A burst of 10,000 events in the first second, then a second-long pause: the average still holds.
  expect(timeLeft(10_000, 30_000, 2_000)).toBe('4s left');
  expect(timeLeft(1, 7_201, 1_000)).toBe('2h00m00s left');
  expect(timeLeft(100, 6_600, 1_000)).toBe('1m05s left');
});

it('says it is estimating before anything is done or in the first second', () => {
  expect(timeLeft(0, 100, 5_000)).toBe('estimating');
  expect(timeLeft(50, 100, 999)).toBe('estimating');
});
