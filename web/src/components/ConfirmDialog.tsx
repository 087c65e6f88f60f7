// A confirmation for a consequential action (Radix Dialog: focus trapped, Escape closes, labelled).
// The envelope's error is shown in the dialog, next to the action that caused it.
import * as Dialog from "@radix-ui/react-dialog";
import { type ReactNode, useState } from "react";
import { fieldErrors, toEnvelope } from "../lib/envelope";
import { Button } from "./Button";
import { ErrorNotice } from "./ErrorNotice";

export interface ConfirmDialogProps {
  trigger: ReactNode;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  /** Ask for a message (e.g. a deprecation notice); its value goes to onConfirm. */
  messageField?: { label: string; required?: boolean; maxLength?: number; name: string };
  onConfirm: (message: string) => Promise<unknown>;
}

export function ConfirmDialog({
  trigger,
  title,
  description,
  confirmLabel,
  danger,
  messageField,
  onConfirm,
}: ConfirmDialogProps) {
  const [open, setOpen] = useState(false);
  const [message, setMessage] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const change = (next: boolean) => {
    setOpen(next);
    if (!next) {
      setError(null);
      setMessage("");
    }
  };

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm(message.trim());
      change(false);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const fieldError = error && messageField ? fieldErrors(toEnvelope(error))[messageField.name] : undefined;
  const messageMissing = messageField?.required === true && message.trim() === "";

  return (
    <Dialog.Root open={open} onOpenChange={change}>
      <Dialog.Trigger asChild>{trigger}</Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-black/50" />
        <Dialog.Content className="fixed top-1/2 left-1/2 w-[min(92vw,28rem)] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-5 shadow-xl dark:bg-slate-900">
          <Dialog.Title className="text-lg font-semibold">{title}</Dialog.Title>
          <Dialog.Description className="mt-2 text-sm text-slate-700 dark:text-slate-300">
            {description}
          </Dialog.Description>
          <form
            className="mt-4 space-y-3"
            onSubmit={(event) => {
              event.preventDefault();
              void confirm();
            }}
          >
            {messageField && (
              <div>
                <label htmlFor="confirm-message" className="block text-sm font-medium">
                  {messageField.label}
                </label>
                <textarea
                  id="confirm-message"
                  value={message}
                  maxLength={messageField.maxLength}
                  onChange={(event) => setMessage(event.target.value)}
                  aria-invalid={fieldError ? true : undefined}
                  aria-describedby={fieldError ? "confirm-message-error" : undefined}
                  className="mt-1 w-full rounded border border-slate-300 bg-white p-2 text-sm dark:border-slate-600 dark:bg-slate-950"
                  rows={3}
                />
                {fieldError && (
                  <p id="confirm-message-error" className="mt-1 text-sm text-red-700 dark:text-red-300">
                    {fieldError.join(" ")}
                  </p>
                )}
              </div>
            )}
            {error !== null && <ErrorNotice error={error} />}
            <div className="flex justify-end gap-2">
              <Dialog.Close asChild>
                <Button>Cancel</Button>
              </Dialog.Close>
              <Button type="submit" variant={danger ? "danger" : "primary"} disabled={busy || messageMissing}>
                {busy ? "Working…" : confirmLabel}
              </Button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
