// How long to stop reading a connection that sent a frame over its budget.
//
// Pausing the reader (ws only; long-polling cannot be paused) leaves what the
// client sends in the kernel: its TCP window closes and it waits, instead of
// us unmasking, decoding and dropping frames. What we still read is what was
// already on its way when the pause began, so the cost of a flood is set by
// how often a flooding connection is resumed: until its budget would admit
// the refused frame (`waitMs`), doubled for every further pause before it
// had a frame admitted (`strikes`). A client that overran its budget once
// is resumed as soon as it could send again; one refused at once again
// after that is still pushing, or shares its address's budget with others
// that are (each resume lets only one of them through), and backs off
// towards MAX_PAUSE_MS instead of being resumed, read and refused every time
// the budget refills. Up to 50 % more at random, so connections refused
// together are not all resumed (and read) in the same timer tick.
//
// MAX_PAUSE_MS stays well inside the heartbeat timeout: a paused client's
// pongs wait in the kernel too, and it must never be taken for dead.

export const MIN_PAUSE_MS = 10;
export const MAX_PAUSE_MS = 1000;

/**
 * @param {number} waitMs until the connection's budgets admit the refused frame
 * @param {number} strikes pauses of this connection since it last had a frame admitted (≥ 1)
 * @param {number} [random] in [0, 1)
 */
export function readerPauseMs(waitMs, strikes, random = Math.random()) {
  const ms = Math.max(waitMs, MIN_PAUSE_MS) * 2 ** Math.min(Math.max(strikes - 1, 0), 16) * (1 + random / 2);
  return Math.min(Math.max(ms, MIN_PAUSE_MS), MAX_PAUSE_MS);
}
