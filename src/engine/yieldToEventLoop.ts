/**
 * Lets queued messages (new requests, aborts) run between two engine steps. setTimeout(0)
 * would do, but browsers clamp nested timers to 4 ms and Node rounds them to 1 ms: a fixed
 * cost per step. Node's setImmediate and, in browsers and workers, a MessageChannel message
 * are macrotasks without that floor.
 */
let channel: MessageChannel | null = null;
const waiting: Array<() => void> = [];

export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  const port = channel.port2;
  return new Promise((resolve) => {
    waiting.push(resolve);
    port.postMessage(null);
  });
}
