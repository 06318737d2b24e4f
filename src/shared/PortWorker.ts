/**
 * A MessagePort dressed as the Worker that createEngine's startWorker expects: Comlink talks
 * over the port, the SharedWorker's error events reach whoever listens for a worker's, and
 * terminate() is this tab leaving the shared engine (the engine itself lives on).
 */
export class PortWorker {
  private readonly errors = new EventTarget();

  constructor(private readonly port: MessagePort, shared: SharedWorker, private readonly leave: () => void) {
    shared.addEventListener('error', (e) => this.errors.dispatchEvent(new ErrorEvent('error', { message: e instanceof ErrorEvent ? e.message : '' })));
    port.start();
  }

  postMessage(message: unknown, transfer: Transferable[] = []): void {
    this.port.postMessage(message, transfer);
  }

  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: AddEventListenerOptions | boolean): void {
    (type === 'message' ? this.port : this.errors).addEventListener(type, listener, options);
  }

  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: EventListenerOptions | boolean): void {
    (type === 'message' ? this.port : this.errors).removeEventListener(type, listener, options);
  }

  terminate(): void {
    this.leave();
  }

  /**
   * As the Worker type: startWorker uses only what this class has (postMessage, the message and
   * error listeners, terminate), through Comlink and its start watch.
   */
  asWorker(): Worker {
    return this as unknown as Worker;
  }
}
