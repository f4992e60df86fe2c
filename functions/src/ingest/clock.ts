/** Time source injected into everything that measures or caches, so tests control it. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
