// The modules of the admin app. Each module exports its public routes
// (outside the layout), its routes inside the layout and its side-menu
// group. A new module, such as users and roles or the audit trail, is added
// to this list.
import signin from './signin/index.js';
import enrolment from './enrolment/index.js';
import review from './review/index.js';
import matching from './matching/index.js';
import forms from './forms/index.js';
import attendance from './attendance/index.js';

export const modules = [signin, enrolment, review, matching, forms, attendance];

/** The page staff see first after signing in. */
export const homePath = '/enrolment/registrations';
