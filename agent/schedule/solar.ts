/**
 * Sunrise and sunset, computed offline from the location (the NOAA / Wikipedia "sunrise
 * equation", within a minute or two away from the poles). `suncalc` is not a dependency of this
 * package, so this small function stands in for it. Returns ms since the epoch, or undefined for
 * polar day/night.
 */
const RAD = Math.PI / 180;

export function sunTimes(dateMs: number, lat: number, lon: number): { sunrise?: number; sunset?: number } {
  // Julian day of local solar noon for the UTC date of dateMs.
  const day = Math.floor(dateMs / 86_400_000);
  const n = day + 2440587.5 - 2451545.0 + 0.0008;
  const jStar = Math.round(n - lon / 360) - lon / 360;
  const M = (357.5291 + 0.98560028 * jStar) % 360;
  const C = 1.9148 * Math.sin(M * RAD) + 0.02 * Math.sin(2 * M * RAD) + 0.0003 * Math.sin(3 * M * RAD);
  const lambda = (M + C + 180 + 102.9372) % 360;
  const jTransit = 2451545.0 + jStar + 0.0053 * Math.sin(M * RAD) - 0.0069 * Math.sin(2 * lambda * RAD);
  const sinDec = Math.sin(lambda * RAD) * Math.sin(23.4397 * RAD);
  const cosDec = Math.cos(Math.asin(sinDec));
  const cosH = (Math.sin(-0.833 * RAD) - Math.sin(lat * RAD) * sinDec) / (Math.cos(lat * RAD) * cosDec);
  if (cosH < -1 || cosH > 1) return {};
  const H = Math.acos(cosH) / RAD;
  const toMs = (j: number) => (j - 2440587.5) * 86_400_000;
  return { sunrise: toMs(jTransit - H / 360), sunset: toMs(jTransit + H / 360) };
}
