import type { Metadata } from "next";

// The page is a client component, which cannot export metadata: its title comes from this layout.
export const metadata: Metadata = {
  title: "Album",
  description: "The photos of one album.",
};

export default function Layout({ children }: { children: React.ReactNode }) {
  return children;
}
