// Building DOM nodes without HTML strings: every text, and above all every string that came
// from a user or the server, goes in as a text node (textContent), never as markup.

/**
 * el("button", {class: "primary", onclick: f, type: "button"}, "Save") — attributes named `on*`
 * become event listeners, `class` and `for` are set as attributes, `hidden`/`disabled`/...
 * booleans as properties; children are nodes or strings (turned into text nodes); null,
 * undefined and false children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
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

/** Appends nodes and strings (as text) to `node`, flattening arrays. */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces every child of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A unique id for label/input pairs. */
let counter = 0;
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}
