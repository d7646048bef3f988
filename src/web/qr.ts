// A QR code drawn here as SVG elements (qrcode-generator makes the modules): no remote image service ever sees
// the otpauth URI, which holds the TOTP secret, and the page's CSP (img-src 'self', no inline styles) is kept.
import qrcode from 'qrcode-generator';

const SVG = 'http://www.w3.org/2000/svg';
/** The quiet zone the QR specification asks for around the code, in modules. */
const MARGIN = 4;

/** An <svg role="img"> of `text` (error correction M), labelled `label` for screen readers. */
export const qrSvg = (text: string, label: string): SVGSVGElement => {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  const count = code.getModuleCount();
  const size = count + 2 * MARGIN;

  // One path of unit squares, one per dark module: small, and crisp at any scale.
  let d = '';
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (code.isDark(row, col)) d += `M${col + MARGIN} ${row + MARGIN}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  // Dark on light whatever the page's colour scheme: scanners expect it.
  const background = document.createElementNS(SVG, 'rect');
  background.setAttribute('width', String(size));
  background.setAttribute('height', String(size));
  background.setAttribute('fill', '#fff');
  const modules = document.createElementNS(SVG, 'path');
  modules.setAttribute('d', d);
  modules.setAttribute('fill', '#000');
  svg.append(background, modules);
  return svg;
};
