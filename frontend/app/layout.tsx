import type { Metadata } from "next";
import Link from "next/link";
import TokenSetting from "@/components/TokenSetting";
import "./globals.css";

export const metadata: Metadata = { title: "Mosaic", description: "A self-hosted image platform" };

const PAGES = [
  ["/", "Discover"],
  ["/upload", "Upload"],
  ["/import", "Import"],
  ["/colours", "Colours"],
  ["/duplicates", "Duplicates"],
  ["/dashboards", "Dashboards"],
  ["/status", "Status"],
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
          <TokenSetting />
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}
