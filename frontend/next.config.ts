import type { NextConfig } from "next";

// A static export (frontend/out) that the gateway serves at `/`: every page is a plain HTML file
// (upload.html, status.html) talking to the gateway's API with relative URLs.
const config: NextConfig = {
  output: "export",
  trailingSlash: false,
  images: { unoptimized: true },
  poweredByHeader: false,
};

export default config;
