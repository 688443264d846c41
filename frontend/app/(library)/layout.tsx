import type { Metadata } from "next";

// The page is a client component, which cannot export metadata: its title comes from this layout.
export const metadata: Metadata = {
  title: "Library",
  description: "Every photo, newest first, by month: filter, select, move to the trash, add to albums.",
};

export default function Layout({ children }: { children: React.ReactNode }) {
  return children;
}
