import type { Metadata } from "next";

// The page is a client component, which cannot export metadata: its title comes from this layout.
export const metadata: Metadata = { title: "Status", description: "Health of the services and of the processing pipeline." };

export default function Layout({ children }: { children: React.ReactNode }) {
  return children;
}
