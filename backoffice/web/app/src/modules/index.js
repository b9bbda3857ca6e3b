// The modules of the admin app. Each module exports its public routes
// (outside the layout), its routes inside the layout and its side-menu
// group. A new module, such as users and roles or the audit trail, is added
// to this list.
import signin from './signin/index.js';
import enrolment from './enrolment/index.js';
import dashboard from './dashboard/index.js';
import cockpit from './cockpit/index.js';

export const modules = [signin, enrolment, dashboard, cockpit];

/** The page staff see first after signing in. */
export const homePath = '/enrolment/registrations';
