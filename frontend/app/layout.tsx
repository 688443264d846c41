import type { Metadata } from "next";
import Link from "next/link";
import "./globals.css";

export const metadata: Metadata = { title: "Mosaic", description: "A self-hosted image platform" };

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
            <Link href="/">Discover</Link>
            <Link href="/upload">Upload</Link>
            <Link href="/status">Status</Link>
          </nav>
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}
