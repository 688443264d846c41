import Link from "next/link";
import { DuplicateGroup, photoHref } from "@/lib/api";

/** A near-duplicate group: every member's thumbnail, the best one marked, and why it is the best. */
/** `onKeep`: offer "Keep this one" on every member (resolves the group keeping that copy); `onKeepTrash`: also
 *  "Keep this one, move the others to the trash". */
export default function GroupView({ group, current, onKeep, onKeepTrash }: {
  group: DuplicateGroup;
  current?: string;
  onKeep?: (id: string) => void;
  onKeepTrash?: (id: string) => void;
}) {
  const details = new Map(group.details.map((member) => [member.id, member]));
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
            {details.has(id) && <MemberFacts member={details.get(id)!} />}
            {id === group.best && <span className="badge best">Best</span>}
            {group.resolved && id === group.kept && <span className="badge resolved">Kept</span>}
            {id === current && <span className="badge">This photo</span>}
            {onKeep && (
              <button type="button" className="keep" onClick={() => onKeep(id)}>
                Keep this one<span className="visually-hidden">— {details.get(id)?.name ?? id}, mark resolved</span>
              </button>
            )}
            {onKeepTrash && (
              <button type="button" className="keep-trash" onClick={() => onKeepTrash(id)}>
                Keep this one, move the others to the trash
                <span className="visually-hidden"> — keep {details.get(id)?.name ?? id}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

function MemberFacts({ member }: { member: DuplicateGroup["details"][number] }) {
  return (
    <small className="member-facts">
      {member.name && <span className="member-name">{member.name}</span>} {member.width}×{member.height},{" "}
      {(member.bytes / 1024).toFixed(0)} KB, {member.exif_fields} EXIF fields
    </small>
  );
}
