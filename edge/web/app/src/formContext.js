// The errors of one form, shared by its fields through provide/inject.
// Each FormField files itself under a JSON path. An error for a path
// without a field of its own (such as "guardians[0]") is shown at the
// nearest enclosing field that has one.
import { inject, nextTick, provide, reactive } from 'vue';
import { inputId, parentPath } from './paths.js';

const formKey = Symbol('form');

export function createFormContext() {
  const errors = reactive({});
  const fieldCounts = new Map();

  const context = {
    errors,

    register(path) {
      fieldCounts.set(path, (fieldCounts.get(path) || 0) + 1);
    },

    unregister(path) {
      const count = (fieldCounts.get(path) || 1) - 1;
      if (count > 0) fieldCounts.set(path, count);
      else fieldCounts.delete(path);
      delete errors[path];
    },

    /** Returns the path of the field that shows errors for path, or '' when no field encloses it. */
    placeOf(path) {
      for (let candidate = path; candidate; candidate = parentPath(candidate)) {
        if (fieldCounts.has(candidate)) return candidate;
      }
      return '';
    },

    /** Shows an error and returns the path where it is shown, or '' when no field encloses path. */
    setError(path, message, code) {
      const place = context.placeOf(path);
      if (place && !errors[place]) errors[place] = { message, code };
      return place;
    },

    clearError(path) {
      delete errors[path];
    },

    clearAll() {
      for (const path of Object.keys(errors)) delete errors[path];
    },
  };
  provide(formKey, context);
  return context;
}

export function useFormContext() {
  return inject(formKey, null);
}

/**
 * Scrolls the field filed under path into view and focuses its input, so a
 * screen reader reads the error that the input's aria-describedby names.
 */
export async function focusField(path) {
  await nextTick();
  const field = document.querySelector(`[data-field="${CSS.escape(path)}"]`);
  if (!field) return;
  field.scrollIntoView({ block: 'center', behavior: 'auto' });
  const input = document.getElementById(inputId(path))
    || field.querySelector('input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea, button');
  input?.focus({ preventScroll: true });
}
