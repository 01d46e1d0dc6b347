// A small SVG line chart of an account's balance over its versions, with the version the time
// travel slider points at marked. No library: a polyline and a circle.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 480;
const HEIGHT = 120;
const PAD = 8;

function node(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

// points: [[version, balance], ...] in version order.
export function chart(points, markedVersion) {
  const svg = node('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img',
                            'aria-label': 'balance over versions' });
  if (!points.length) return svg;
  const versions = points.map(([v]) => v);
  const balances = points.map(([, b]) => b);
  const [vMin, vMax] = [Math.min(...versions), Math.max(...versions)];
  const bMax = Math.max(...balances, 1);
  const x = (v) => PAD + (vMax === vMin ? 0 : ((v - vMin) / (vMax - vMin)) * (WIDTH - 2 * PAD));
  const y = (b) => HEIGHT - PAD - (b / bMax) * (HEIGHT - 2 * PAD);
  svg.appendChild(node('polyline', { points: points.map(([v, b]) => `${x(v)},${y(b)}`).join(' '),
                                     fill: 'none', stroke: 'currentColor', 'stroke-width': 2 }));
  const marked = points.filter(([v]) => v <= markedVersion).at(-1);
  if (marked) svg.appendChild(node('circle', { cx: x(marked[0]), cy: y(marked[1]), r: 4, class: 'mark' }));
  return svg;
}
