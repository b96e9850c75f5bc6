/** One line about an error for reports: its class, code, HTTP status and message (never a stack). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  const tags = [
    typeof code === 'string' ? code : undefined,
    typeof statusCode === 'number' ? String(statusCode) : undefined,
  ]
    .filter((t) => t !== undefined)
    .join(' ');
  return `${error.name}${tags === '' ? '' : ` (${tags})`}: ${error.message.slice(0, 300)}`;
}
