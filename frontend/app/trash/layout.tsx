import type { Metadata } from "next";

// The page is a client component, which cannot export metadata: its title comes from this layout.
export const metadata: Metadata = {
  title: "Trash",
  description: "Photos moved to the trash: restore them, or empty the trash to delete them for good.",
};

export default function Layout({ children }: { children: React.ReactNode }) {
  return children;
}
