import type { Metadata } from "next";

// The page is a client component, which cannot export metadata: its title comes from this layout.
export const metadata: Metadata = {
  title: "Search",
  description: "Photos found by words, places, cameras and fields such as make:canon or year:2019.",
};

export default function Layout({ children }: { children: React.ReactNode }) {
  return children;
}
