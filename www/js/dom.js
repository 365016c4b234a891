// @ts-check
// Building DOM nodes without HTML strings: every text, and above all every string that came
// from a user or the server, goes in as a text node (textContent), never as markup.

/**
 * What el() and append() take as children: nodes, strings (as text), lists of them; null,
 * undefined and false are skipped.
 * @typedef {Node | string | number | null | undefined | false | ChildList} Child
 */

/** A list of children (an array, usually). @typedef {{readonly [index: number]: Child, readonly length: number}} ChildList */

/**
 * Attribute values: `on*` functions become event listeners, `dataset` an object of data-*
 * values, `true` an empty attribute; null, undefined and false are left out.
 * @typedef {{[name: string]: string | number | boolean | null | undefined | ((event: any) => unknown) | Record<string, string>}} Attrs
 */

/**
 * el("button", {class: "primary", onclick: f, type: "button"}, "Save") — attributes named `on*`
 * become event listeners, `class` and `for` are set as attributes, `hidden`/`disabled`/...
 * booleans as properties; children are nodes or strings (turned into text nodes); null,
 * undefined and false children are skipped.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset" && typeof value === "object") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

/**
 * Appends nodes and strings (as text) to `node`, flattening lists.
 * @template {Node} N
 * @param {N} node
 * @param {ChildList} children
 * @returns {N}
 */
export function append(node, children) {
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (child === undefined || child === null || child === false) continue;
    if (child instanceof Node) node.appendChild(child);
    else if (typeof child === "object") append(node, child);
    else node.appendChild(document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Replaces every child of `node`.
 * @template {Node & ParentNode} N
 * @param {N} node
 * @param {...Child} children
 * @returns {N}
 */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A unique id for label/input pairs. */
let counter = 0;
/** @param {string} [prefix] */
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}
