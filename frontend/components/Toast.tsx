"use client";

/** What the last change did, announced, with an optional undo. */
export default function Toast({ note, undo, onDismiss }: {
  note: string;
  undo?: () => void;
  onDismiss: () => void;
}) {
  return (
    <div role="status" aria-live="polite" className={note ? "toast shown" : "toast"}>
      {note && (
        <>
          <span>{note}</span>
          {undo && (
            <button type="button" onClick={undo}>
              Undo
            </button>
          )}
          <button type="button" onClick={onDismiss} aria-label="Dismiss">
            ×
          </button>
        </>
      )}
    </div>
  );
}
