// The modules of the admin app. Each module exports its routes outside the
// layout (publicRoutes, which need a session unless meta.public is set), its
// routes inside the layout and its side-menu group. A route's
// meta.permission and a menu item's permission name the permission code the
// role needs. A new module is added to this list.
import signin from './signin/index.js';
import enrolment from './enrolment/index.js';
import system from './system/index.js';
import basedata from './basedata/index.js';
import audit from './audit/index.js';
import review from './review/index.js';
import matching from './matching/index.js';
import admission from './admission/index.js';
import forms from './forms/index.js';
import attendance from './attendance/index.js';
import dashboard from './dashboard/index.js';
import cockpit from './cockpit/index.js';

export const modules = [signin, enrolment, review, matching, admission, forms, dashboard, attendance, cockpit, system, basedata, audit];

/** The page staff see first after signing in, when their role may open it (see landingPath in menus.js). */
export const homePath = '/enrolment/registrations';
