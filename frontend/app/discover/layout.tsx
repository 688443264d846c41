import type { Metadata } from "next";

// The page is a client component, which cannot export metadata: its title comes from this layout.
export const metadata: Metadata = { title: "Discover", description: "Describe the photos you want; each result says why it was chosen." };

export default function Layout({ children }: { children: React.ReactNode }) {
  return children;
}
