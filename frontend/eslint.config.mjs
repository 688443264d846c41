// `npm run lint` (make test runs it): Next's own rules (core web vitals, React hooks, a few jsx-a11y checks)
// and typescript-eslint's recommended ones, as eslint-config-next ships them for the eslint CLI.
import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTypescript from "eslint-config-next/typescript";

export default defineConfig([
  ...nextVitals,
  ...nextTypescript,
  {
    rules: {
      // next/image optimises through a server the static export does not have (images.unoptimized): the
      // photos come from the CDN route's own renditions (?size=thumb, ?size=preview) as plain <img>.
      "@next/next/no-img-element": "off",
    },
  },
  globalIgnores([".next/**", "out/**", ".test-build/**", "next-env.d.ts", "lib/openapi.d.ts"]),
]);
