// DOM helpers. Every string becomes a text node (textContent), never HTML:
// client ids, user names, topics and payloads come from devices and are
// shown exactly as sent.

// h builds an element: h('td', {class: 'num'}, 'text', childNode, ...).
// Attributes named on* take a function (addEventListener); no attribute
// ever takes markup.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2), v);
      } else if (k === 'class') {
        el.className = v;
      } else if (k === 'dataset') {
        Object.assign(el.dataset, v);
      } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') {
        el[k] = v;
      } else if (k === 'href' && !String(v).startsWith('/')) {
        throw new Error('h: only same-origin paths may be links');
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

// append adds children: nodes as they are, anything else as text.
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// clear empties el.
export function clear(el) {
  el.replaceChildren();
  return el;
}


// fill replaces el's children (arrays are flattened; strings become text).
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}
