// The drill-down state the attendance pages share: the stack of nodes from
// the staff member's own unit down to the one shown, and the period.
import { reactive } from 'vue';

/** Returns the node one level below for a unit of a panel response, or null for a grade. */
export function childNode(unit) {
  switch (unit.level) {
    case 'district': return { level: 'district', districtCode: unit.key, name: unit.name };
    case 'street': return { level: 'street', streetCode: unit.key, name: unit.name };
    case 'kindergarten': return { level: 'kindergarten', kindergartenId: Number(unit.key), name: unit.name };
    default: return null;
  }
}

/** Creates the state: stack starts empty, so the first request shows the staff member's own unit. */
export function useDrillDown(range = 'day') {
  const state = reactive({
    stack: [],
    period: { range, date: '', from: '', to: '' },
    current() {
      return state.stack.length ? state.stack[state.stack.length - 1] : null;
    },
    /** Records the node a response names as the root when the stack is empty. */
    adopt(node) {
      if (state.stack.length === 0 && node) state.stack.push(node);
    },
    drill(unit) {
      const node = childNode(unit);
      if (node) state.stack.push(node);
      return node !== null;
    },
    up(index) {
      state.stack.splice(index + 1);
    },
  });
  return state;
}
