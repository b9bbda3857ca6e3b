// The side menu of the signed-in staff member: each module's menu items
// that the role's permissions open. Routes carry the same permission in
// meta.permission, which the router checks before a page opens. An item
// with levels is shown only to staff whose data scope has one of them,
// such as the district self-service pages, which street and kindergarten
// staff can read but not use.
import { homePath, modules } from '@/modules/index.js';
import { can, scopeLevel } from '@/session.js';

function allowed(item) {
  if (item.levels && !item.levels.includes(scopeLevel())) return false;
  return !item.permission || can(item.permission);
}

/** Returns the menu groups with only the items the staff member may open, and no empty group. */
export function visibleMenus() {
  return modules
    .map((module) => module.menu)
    .filter(Boolean)
    .map((menu) => ({ ...menu, items: menu.items.filter(allowed) }))
    .filter((menu) => menu.items.length > 0);
}

/**
 * Returns the page to open after sign-in: the app's home page when the
 * role may open it, else the role's first menu item, else the page that
 * tells the staff member that the role has no menu.
 */
export function landingPath() {
  const items = visibleMenus().flatMap((menu) => menu.items);
  if (items.some((item) => item.path === homePath)) return homePath;
  return items[0]?.path || '/no-access';
}
