/**
 * What a list+watch has done so far, as plain counters the I/O shell adds to (a number added per
 * network read, nothing per event), read by whoever wants them (the OpenTelemetry instruments read
 * them at each collection). Cumulative over the life of the object: a `SharedResourceWatch` keeps
 * one across the list+watch loops it starts and stops, so the counts only ever grow.
 */
export class WatchStats {
  /**
   * Full lists started while a complete state was already held, to replace it: a 410 Expired, an
   * object the consumer could not read, a list retried after a failure. The first list of a loop
   * is not one, nor a streaming list that falls back to LIST.
   */
  relists = 0;
  /** Complete watch lines decoded: events, bookmarks and in-stream errors, a streaming list's initial events too. */
  eventsDecoded = 0;
  /** Bytes of watch response bodies read (LIST bodies are not counted). */
  bytesDecoded = 0;
}
