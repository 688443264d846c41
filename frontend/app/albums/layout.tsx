import type { Metadata } from "next";

// The page is a client component, which cannot export metadata: its title comes from this layout.
export const metadata: Metadata = {
  title: "Albums",
  description: "Your albums: create, rename and delete them.",
};

export default function Layout({ children }: { children: React.ReactNode }) {
  return children;
}
