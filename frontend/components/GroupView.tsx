import Link from "next/link";
import { DuplicateGroup, photoHref } from "@/lib/api";

/** A near-duplicate group: every member's thumbnail, the best one marked, and why it is the best. */
export default function GroupView({ group, current }: { group: DuplicateGroup; current?: string }) {
  return (
    <>
      <p className="why-best">
        <strong>Best:</strong> {group.reason}
        {group.resolved && <span className="badge resolved">resolved</span>}
      </p>
      <ul className="members" aria-label="Members">
        {group.members.map((id) => (
          <li key={id} data-image-id={id} data-best={id === group.best ? "true" : undefined}>
            <Link href={photoHref(id)} aria-label={`Open photo ${id}`}>
              <img src={`/cdn/show/${encodeURIComponent(id)}?size=thumb`} alt={`Photo ${id}`} loading="lazy" />
            </Link>
            {id === group.best && <span className="badge best">Best</span>}
            {id === current && <span className="badge">This photo</span>}
          </li>
        ))}
      </ul>
    </>
  );
}
