import Link from "next/link";
import { ReactNode } from "react";
import { photoHref, Recommendation } from "@/lib/api";

/** Result thumbnails, each linking to its photo page; `details` adds what a page knows about the result. */
export default function ResultGrid({
  results,
  label,
  details,
}: {
  results: Recommendation[];
  label: string;
  details?: (result: Recommendation) => ReactNode;
}) {
  return (
    <ol className="grid" aria-label={label}>
      {results.map((result) => (
        <li key={result.id} className="card result" data-image-id={result.id}>
          <Link href={photoHref(result.id)} aria-label={`Open photo ${result.id}`}>
            <img src={result.thumbnail_url} alt={`Photo ${result.id}`} loading="lazy" />
          </Link>
          <p className="score">Score {result.score.toFixed(2)}</p>
          {details?.(result)}
        </li>
      ))}
    </ol>
  );
}
