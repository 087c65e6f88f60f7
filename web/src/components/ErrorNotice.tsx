// One place turns the envelope into words (SPEC §2.4): the detail, then each item with its field.
import { type Envelope, locText, toEnvelope } from "../lib/envelope";
import { Button } from "./Button";

export function ErrorNotice({
  error,
  title,
  onRetry,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}) {
  const envelope: Envelope = toEnvelope(error);
  return (
    <div
      role="alert"
      className="rounded border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      {title && <p className="font-semibold">{title}</p>}
      <p data-testid="error-detail">{envelope.detail}</p>
      {envelope.errors && envelope.errors.length > 0 && (
        <ul className="mt-1 list-disc pl-5">
          {envelope.errors.map((item) => (
            <li key={`${locText(item.loc)}:${item.type}:${item.msg}`}>
              <span className="font-mono text-xs">{locText(item.loc)}</span>: {item.msg}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <Button size="sm" className="mt-2" onClick={onRetry}>
          Try again
        </Button>
      )}
    </div>
  );
}
