// JSON paths such as "guardians[0].document.number": the edge names the
// field at fault with one, and the form files each input under one.

function segments(path) {
  return path.match(/[^.[\]]+/g) || [];
}

/** Returns the value at path in object, or undefined. */
export function getAt(object, path) {
  let value = object;
  for (const segment of segments(path)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = value[segment];
  }
  return value;
}

/**
 * Stores value at path, creating objects on the way. An object stored over
 * an existing object is merged into it, so "residence" and
 * "residence.atHukouAddress" can be set in either order.
 */
export function setAt(object, path, value) {
  const keys = segments(path);
  let target = object;
  for (const key of keys.slice(0, -1)) {
    if (target[key] === null || typeof target[key] !== 'object') target[key] = {};
    target = target[key];
  }
  const last = keys[keys.length - 1];
  const existing = target[last];
  if (existing && typeof existing === 'object' && !Array.isArray(existing) && value && typeof value === 'object' && !Array.isArray(value)) {
    Object.assign(existing, value);
  } else {
    target[last] = value;
  }
}

/** Returns the path one level up: "guardians[0].name" → "guardians[0]" → "guardians" → "". */
export function parentPath(path) {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut > 0 ? path.slice(0, cut) : '';
}

function slug(path) {
  return segments(path).join('-');
}

/** Returns the id of the input filed under path. */
export function inputId(path) {
  return `f-${slug(path)}`;
}

/** Returns the id of the error text of the field filed under path. */
export function errorId(path) {
  return `e-${slug(path)}`;
}

/** Returns the id of the help text of the field filed under path. */
export function helpId(path) {
  return `h-${slug(path)}`;
}
