/**
 * The app's pages. Each route names the access level it needs (hub/api/access.ts); the menu
 * shows only the routes the signed-in role reaches, and a direct address to another shows
 * "may not see". The hub answers every path of APP_SECTIONS (hub/api/web.ts) with the app, so
 * an address can be bookmarked and reloaded; a new top-level section must be added there too.
 */
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import type { Access } from './session';
import { refreshSession, session } from './session';

declare module 'vue-router' {
  interface RouteMeta {
    /** Needs no sign-in. */
    readonly public?: boolean;
    readonly access?: Access;
    /** The menu entry's message key under `app.nav`; no entry without it. */
    readonly nav?: string;
    /** Full-screen, no menu (the wall screen). */
    readonly bare?: boolean;
  }
}

export const routes: RouteRecordRaw[] = [
  {
    path: '/',
    component: () => import('./pages/OverviewPage.vue'),
    meta: { access: 'aggregate', nav: 'overview' },
  },
  {
    path: '/targets',
    component: () => import('./pages/TargetsPage.vue'),
    meta: { access: 'aggregate', nav: 'targets' },
  },
  {
    path: '/enterprises',
    component: () => import('./pages/EnterprisesPage.vue'),
    meta: { access: 'aggregate', nav: 'enterprises' },
  },
  {
    path: '/enterprises/:code',
    component: () => import('./pages/EnterprisePage.vue'),
    meta: { access: 'aggregate' },
  },
  {
    path: '/fleet',
    component: () => import('./pages/FleetPage.vue'),
    meta: { access: 'fleet', nav: 'fleet' },
  },
  {
    path: '/machines/:enterprise/:machine',
    component: () => import('./pages/MachinePage.vue'),
    meta: { access: 'telemetry' },
  },
  {
    path: '/alerts',
    component: () => import('./pages/AlertsPage.vue'),
    meta: { access: 'fleet', nav: 'alerts' },
  },
  {
    path: '/wall',
    component: () => import('./pages/WallPage.vue'),
    meta: { access: 'aggregate', nav: 'wall', bare: true },
  },
  {
    // Users, tokens and the audit log are admin's; ledger upload and MQTT credentials manage's.
    path: '/admin',
    component: () => import('./pages/AdminPage.vue'),
    meta: { access: 'manage', nav: 'admin' },
    children: [
      { path: '', redirect: '/admin/ledgers' },
      { path: 'ledgers', component: () => import('./pages/admin/AdminLedgers.vue') },
      { path: 'mqtt-users', component: () => import('./pages/admin/AdminMqttUsers.vue') },
      { path: 'users', component: () => import('./pages/admin/AdminUsers.vue'), meta: { access: 'admin' } },
      { path: 'tokens', component: () => import('./pages/admin/AdminTokens.vue'), meta: { access: 'admin' } },
      { path: 'audit', component: () => import('./pages/admin/AdminAudit.vue'), meta: { access: 'admin' } },
    ],
  },
  { path: '/sign-in', component: () => import('./pages/SignInPage.vue'), meta: { public: true } },
  // Signed in first: an unknown address says so only to someone who may see the app.
  { path: '/:rest(.*)*', component: () => import('./pages/NotFoundPage.vue') },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  if (!session.checked) await refreshSession().catch(() => undefined);
  if (to.meta.public === true) return true;
  if (session.principal === undefined) return { path: '/sign-in', query: { next: to.fullPath } };
  return true;
});
