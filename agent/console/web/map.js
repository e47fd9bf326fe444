/**
 * The devices' positions as a small SVG drawing from device.location: no tiles and nothing
 * fetched, so it works on a phone joined to a Pi's hotspot. North is up; a scale bar gives the
 * distances.
 */
import { fill, s } from './dom.js';
import { projectDevices, scaleBar } from './model.js';

const W = 320;
const H = 200;
const MARGIN = 28;

/** Draws the devices into the <svg> element; returns how many have no position. */
export function drawMap(svg, devices, selected) {
  const { points, kmPerUnit } = projectDevices(devices, W, H, MARGIN);
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const parts = [s('rect', { class: 'map-bg', x: 0, y: 0, width: W, height: H })];
  if (points.length === 0) {
    parts.push(s('text', { class: 'map-empty', x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no device has reported a position'));
  }
  for (const p of points) {
    const d = p.device;
    const cls = `map-dot ${d.state}${d.device === selected ? ' selected' : ''}`;
    parts.push(
      s(
        'g',
        { class: 'map-device', 'data-device': d.device },
        s('circle', { class: cls, cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 7 }, s('title', undefined, `${d.device} (${d.state})`)),
        s('text', { class: 'map-label', x: p.x.toFixed(1), y: (p.y - 11).toFixed(1), 'text-anchor': 'middle' }, d.device),
      ),
    );
  }
  if (kmPerUnit !== undefined) {
    const bar = scaleBar((W / 3) * kmPerUnit);
    if (bar) {
      const len = bar.km / kmPerUnit;
      const y = H - 10;
      parts.push(
        s('line', { class: 'map-scale', x1: 10, y1: y, x2: (10 + len).toFixed(1), y2: y }),
        s('text', { class: 'map-scale-label', x: 10, y: y - 5 }, bar.label),
      );
    }
  }
  parts.push(s('text', { class: 'map-north', x: W - 12, y: 18, 'text-anchor': 'middle' }, 'N ↑'));
  fill(svg, ...parts);
  return devices.length - points.length;
}
