// The floor the core benchmarks compare with: what any client must do with the same bytes.

/** Splits a watch body into lines and JSON.parses each, until `count` lines; then drops the body. */
export async function parseWatchLines(body, count) {
  let pending = Buffer.alloc(0);
  let seen = 0;
  for await (const chunk of body) {
    let buffer = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let newline = buffer.indexOf(10);
    while (newline !== -1) {
      JSON.parse(buffer.toString('utf8', 0, newline));
      seen += 1;
      buffer = buffer.subarray(newline + 1);
      newline = buffer.indexOf(10);
    }
    pending = buffer;
    if (seen === count) break;
  }
  body.destroy();
}
