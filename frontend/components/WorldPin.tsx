/** Where a photo was taken, on an equirectangular grid drawn here: no map tiles, no network. */
export default function WorldPin({ latitude, longitude }: { latitude: number; longitude: number }) {
  const x = longitude + 180;
  const y = 90 - latitude;
  const meridians = Array.from({ length: 11 }, (_, i) => (i + 1) * 30);
  const parallels = Array.from({ length: 5 }, (_, i) => (i + 1) * 30);
  return (
    <svg className="world" viewBox="0 0 360 180" role="img"
         aria-label={`Map pin at latitude ${latitude.toFixed(4)}, longitude ${longitude.toFixed(4)}`}>
      <rect width="360" height="180" className="sea" />
      {meridians.map((m) => <line key={`m${m}`} x1={m} x2={m} y1="0" y2="180" className="grid-line" />)}
      {parallels.map((p) => <line key={`p${p}`} x1="0" x2="360" y1={p} y2={p}
                                  className={p === 90 ? "grid-line equator" : "grid-line"} />)}
      <circle cx={x} cy={y} r="4" className="pin" />
      <circle cx={x} cy={y} r="9" className="pin-halo" />
    </svg>
  );
}
