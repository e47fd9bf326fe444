/* global document */
/**
 * The only way this page makes elements. Every value that came from the API (and so from a
 * device or the broker: ids, labels, notes) goes in as a text node or through setAttribute on an
 * attribute that cannot run code; innerHTML is never used. A device id `<script>…` is text.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Attributes that cannot carry script or load anything: values from the API may go here. */
const SAFE_ATTRIBUTES = /^(class|id|title|role|type|name|value|for|datetime|lang|hidden|disabled|placeholder|rows|maxlength|autocomplete|inputmode|min|max|step|aria-[a-z-]+|data-[a-z-]+|cx|cy|r|x|y|x1|x2|y1|y2|points|width|height|viewBox|text-anchor|dominant-baseline|preload|controls|alt|loading|decoding)$/;

function apply(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    // A programming error, not a data problem: fail loudly where the page is written.
    if (!SAFE_ATTRIBUTES.test(k)) throw new Error(`dom.js: attribute ${k} is not on the safe list`);
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

/** An HTML element: h('li', {class: 'x'}, 'text', childElement, ...). */
export function h(tag, attrs, ...children) {
  return apply(document.createElement(tag), attrs, children);
}

/** An SVG element, same rules. */
export function s(tag, attrs, ...children) {
  return apply(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return apply(el, undefined, children);
}

/** A same-origin API path with each segment encoded (ids come from devices). */
export function apiPath(...segments) {
  return `/api/${segments.map((p) => encodeURIComponent(p)).join('/')}`;
}
