// Shared by the client scripts: one JSON line on stdout, ASCII-only (non-ASCII escaped as \uXXXX) so the C# side
// reads the exact characters whatever the console encoding. Any failure: message on stderr, exit code 1.

/** Prints the report as a single JSON line. */
export function report(value) {
  const json = JSON.stringify(value).replace(/[\u007f-\uffff]/g, c => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  process.stdout.write(json + '\n');
}

/** Runs the client body; exits 0 on success, 1 on any exception (or after the deadline), without other checks. */
export async function run(body, deadlineMs = 60_000) {
  const timer = setTimeout(() => {
    process.stderr.write(`client did not finish within ${deadlineMs} ms\n`);
    process.exit(2);
  }, deadlineMs);
  try {
    await body();
    clearTimeout(timer);
    process.exit(0);
  } catch (error) {
    process.stderr.write((error?.stack ?? String(error)) + '\n');
    if (error?.cause) process.stderr.write('cause: ' + (error.cause?.stack ?? String(error.cause)) + '\n');
    process.exit(1);
  }
}

/** The text blocks of a tools/call result, in order. */
export function texts(result) {
  return (result?.content ?? []).filter(block => block.type === 'text').map(block => block.text);
}
