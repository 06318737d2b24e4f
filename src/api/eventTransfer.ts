import type { EngineEvent, WireEvent } from '../engine/events.ts';
import { reviveError, serializeError } from './errorTransfer.ts';

/** A step's events for the trip out of the worker: errors become data. */
export function packEvents(events: EngineEvent[]): WireEvent[] {
  return events.map((e) => (e.type === 'error' ? { type: 'error', error: serializeError(e.error) } : e));
}

/** The reverse, on the page: errors come back with their class, name, code and fields. */
export function unpackEvents(events: WireEvent[]): EngineEvent[] {
  return events.map((e) => (e.type === 'error' ? { type: 'error', error: reviveError(e.error) } : e));
}
