import type { Metadata } from "next";
import Link from "next/link";
import SearchBox from "@/components/SearchBox";
import TokenSetting from "@/components/TokenSetting";
import "./globals.css";

// Each route's layout.tsx names its page ("Upload · Mosaic"); pages without one are just "Mosaic".
export const metadata: Metadata = {
  title: { default: "Mosaic", template: "%s · Mosaic" },
  description: "A self-hosted image platform",
};

const PAGES = [
  ["/", "Library"],
  ["/albums", "Albums"],
  ["/discover", "Discover"],
  ["/upload", "Upload"],
  ["/import", "Import"],
  ["/colours", "Colours"],
  ["/duplicates", "Duplicates"],
  ["/dashboards", "Dashboards"],
  ["/status", "Status"],
  ["/trash", "Trash"],
] as const;

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip" href="#main">
          Skip to content
        </a>
        <header className="top">
          <span className="brand">Mosaic</span>
          <nav aria-label="Main">
            {PAGES.map(([href, name]) => (
              <Link key={href} href={href}>
                {name}
              </Link>
            ))}
          </nav>
          <SearchBox />
          <TokenSetting />
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}
