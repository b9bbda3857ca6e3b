// Linkage rules of a form schema. A field with "show" rules appears only
// when one of their conditions is true, and a "require" rule with a true
// condition makes the field required. A condition is true when the field it
// names is shown and has a value, equal to "equals" when that is set. The
// edge's pre-check applies the same rules (edge/precheck/extra.go).
import { getAt } from './paths.js';

function fieldsByKey(schema) {
  const fields = new Map();
  for (const section of schema.sections || []) {
    for (const field of section.fields || []) fields.set(field.key, field);
  }
  return fields;
}

function valueText(value) {
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value.trim();
  return '';
}

function hasValue(value) {
  if (value === false || value === null || value === undefined) return false;
  return valueText(value) !== '';
}

/**
 * Returns a checker of one model against schema: shown(field) and
 * required(field). A cycle of "show" rules hides every field on it.
 */
export function linkage(schema, model) {
  const fields = fieldsByKey(schema);
  const shownCache = new Map();
  const visiting = new Set();

  function holds(rule) {
    const source = fields.get(rule.field);
    if (!source || !shown(source)) return false;
    const value = getAt(model, rule.field);
    if (!rule.equals) return hasValue(value);
    return valueText(value) === rule.equals;
  }

  function shown(field) {
    if (shownCache.has(field.key)) return shownCache.get(field.key);
    if (visiting.has(field.key)) return false;
    visiting.add(field.key);
    const rules = (field.linkage || []).filter((rule) => rule.action === 'show');
    const result = rules.length === 0 || rules.some(holds);
    visiting.delete(field.key);
    shownCache.set(field.key, result);
    return result;
  }

  function required(field) {
    return Boolean(field.required) || (field.linkage || []).some((rule) => rule.action === 'require' && holds(rule));
  }

  return { shown, required };
}
