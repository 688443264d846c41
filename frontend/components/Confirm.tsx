"use client";

import { useEffect, useRef } from "react";

/** A modal question (the native <dialog>: focus stays inside, Escape cancels). */
export default function Confirm({ open, title, children, confirm, onConfirm, onCancel }: {
  open: boolean;
  title: string;
  children: React.ReactNode;
  confirm: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className="confirm" aria-labelledby="confirm-title" onCancel={onCancel} onClose={onCancel}>
      <h2 id="confirm-title">{title}</h2>
      {children}
      <div className="row">
        <button type="button" className="danger" onClick={onConfirm}>
          {confirm}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
